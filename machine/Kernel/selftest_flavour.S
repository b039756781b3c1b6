# selftest_flavour.S: what tells the two flavours apart from user mode. The illumos flavour (ILLUMOS=1) has a system-
# call gate at 0x91 whose exit is always IRET, so it keeps every register but RAX — RCX and R11 too, which SYSCALL
# takes; the Linux flavour has no gate there, and int $0x91 is a #GP like any vector without a DPL 3 gate.

	.section .user.text, "ax"

	SELFTEST test_syscall_int
test_syscall_int:
	.if ILLUMOS
	mov $__NR_getpid, %eax
	movabs $0x1111222233334444, %rcx
	movabs $0x5555666677778888, %r11
	int $T_SYSCALLINT
	mov %rax, %rbx
	movabs $0x1111222233334444, %rax
	xor %rax, %rcx
	movabs $0x5555666677778888, %rax
	xor %rax, %r11
	or %r11, %rcx
	mov %rcx, %r12
	CHECK "illumos: int 0x91 getpid", %rbx, $TASK_PID
	CHECK "illumos: int 0x91 keeps RCX and R11", %r12, $0
	.else
	ARM_FAULT 1f
	mov $__NR_getpid, %eax
	int $T_SYSCALLINT
1:	CHECK "Linux: int 0x91 (illumos's system-call gate) is #GP", u_fault_vector, $X86_TRAP_GP
	.endif
	ret
