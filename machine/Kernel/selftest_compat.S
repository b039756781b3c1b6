# selftest_compat.S: the compat entries as user code sees them — int $0x80 from 64-bit code and from compatibility
# mode, SYSENTER and SYSCALL from compatibility mode (what Linux's x86 selftests check of them).

	.set INT80_MAGIC, 0x1badc0de00000000	# register patterns: int $0x80 must give each back unchanged
	.set INT80_MAGIC32, 0x0badc0de

	.section .user.text, "ax"

# u_call32: run the 32-bit function at EDI in compatibility mode (CS = __USER32_CS), on a stack below 4 GiB, and come
# back to 64-bit mode. The function gets the caller's EAX-EBP (but ESP) and may change them; in 64-bit mode again every
# register's upper half is undefined (SDM vol. 1 §3.4.1.1), so the caller reads results from memory or as 32 bits.
u_call32:
	mov %rsp, u_rsp64
	mov $__USER_DS, %r8d			# compatibility mode uses DS and ES: the IRET to user mode left them null
	mov %r8d, %ds
	mov %r8d, %es
	mov $u32_stack_top, %esp
	# A far jump, not a far return: QEMU 7.2 makes the stack reads of a far return (and of IRET) supervisor
	# accesses, which SMAP refuses on a user stack; the SDM has them at CPL 3.
	ljmpl *u32_trampoline_ptr
	.code32
u32_trampoline:
	call *%edi
	ljmp $__USER_CS, $u_back64
	.code64
u_back64:
	mov u_rsp64, %rsp
	ret

# int $0x80 from 64-bit code: the i386 numbers (low 32 bits of RAX only) and arguments (low 32 bits of RBX, RCX,
# RDX), and every register but RAX comes back — R8-R15 as well as the i386 ones (Linux's int 0x80 guarantee).
	SELFTEST test_int80_from_64
test_int80_from_64:
	mov $__NR_compat_getpid, %eax
	int $0x80
	CHECK "int 0x80 from 64-bit code: getpid", %rax, $TASK_PID
	movabs $(0xdead00000000 | __NR_compat_getpid), %rax
	int $0x80
	CHECK "int 0x80: upper 32 bits of the number ignored", %rax, $TASK_PID
	mov $NR_compat_syscalls, %eax
	int $0x80
	CHECK "int 0x80: first past the table is -ENOSYS", %rax, $-ENOSYS
	mov $0xffffffff, %eax			# as an int, -1: the table index is unsigned
	int $0x80
	CHECK "int 0x80: number 0xffffffff is -ENOSYS", %rax, $-ENOSYS
	mov $__NR_compat_write, %eax
	movabs $0xffffffff00000001, %rbx	# fd 1 in the low half
	movabs $0x1234567800000000 + compat_text64, %rcx
	movabs $0xffffffff00000000 + (compat_text64_end - compat_text64), %rdx
	int $0x80
	CHECK "int 0x80: write takes the low 32 bits of EBX, ECX, EDX", %rax, $(compat_text64_end - compat_text64)

	# Every register gets a pattern of its own; afterwards each XORed with its pattern must be 0.
	.set int80_pattern, INT80_MAGIC
	.irp reg, rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15
	movabs $int80_pattern, %\reg
	.set int80_pattern, int80_pattern + 1
	.endr
	mov $__NR_compat_getpid, %eax
	int $0x80
	.set int80_pattern, INT80_MAGIC
	.irp reg, rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15
	movabs $int80_pattern, %rax
	xor %rax, %\reg
	.set int80_pattern, int80_pattern + 1
	.endr
	.irp reg, rcx, rdx, rsi, rdi, rbp
	or %\reg, %rbx
	.endr
	.irp reg, r8, r9, r10, r11, r13, r14, r15
	or %\reg, %r12
	.endr
	CHECK "int 0x80 from 64-bit code keeps RBX, RCX, RDX, RSI, RDI, RBP", %rbx, $0
	CHECK "int 0x80 from 64-bit code keeps R8-R15", %r12, $0
	ret

# int $0x80 from compatibility mode: the IRET exit returns there, with the result in EAX and EBX-EBP unchanged.
	SELFTEST test_int80_compat
test_int80_compat:
	mov $compat_int80, %edi
	call u_call32
	movslq u32_getpid, %rbx
	CHECK "int 0x80 from compatibility mode: getpid", %rbx, $TASK_PID
	movslq u32_write, %rbx
	CHECK "int 0x80 from compatibility mode: write", %rbx, $(compat_text32_end - compat_text32)
	movslq u32_enosys, %rbx
	CHECK "int 0x80 from compatibility mode: -ENOSYS past the table", %rbx, $-ENOSYS
	movzwl u32_cs, %ebx
	CHECK "int 0x80 returns to compatibility mode", %rbx, $__USER32_CS
	mov u32_kept, %ebx
	CHECK "int 0x80 from compatibility mode keeps EBX, ECX, EDX, ESI, EDI, EBP", %rbx, $0
	ret

	.code32
compat_int80:
	mov $__NR_compat_getpid, %eax
	int $0x80
	mov %eax, u32_getpid
	mov %cs, u32_cs
	mov $__NR_compat_write, %eax
	mov $1, %ebx
	mov $compat_text32, %ecx
	mov $(compat_text32_end - compat_text32), %edx
	int $0x80
	mov %eax, u32_write
	mov $NR_compat_syscalls, %eax
	int $0x80
	mov %eax, u32_enosys
	# Each i386 register with its own pattern; XORed with it afterwards, all must be 0.
	.set int80_pattern, INT80_MAGIC32
	.irp reg, ebx, ecx, edx, esi, edi, ebp
	mov $int80_pattern, %\reg
	.set int80_pattern, int80_pattern + 1
	.endr
	mov $__NR_compat_getpid, %eax
	int $0x80
	.set int80_pattern, INT80_MAGIC32
	.irp reg, ebx, ecx, edx, esi, edi, ebp
	xor $int80_pattern, %\reg
	.set int80_pattern, int80_pattern + 1
	.endr
	.irp reg, ecx, edx, esi, edi, ebp
	or %\reg, %ebx
	.endr
	mov %ebx, u32_kept
	ret
	.code64

	.section .user.data, "aw"
	.balign 8
u_rsp64: .quad 0
u32_trampoline_ptr: .long u32_trampoline	# m16:32, for the far jump to compatibility mode
	.word __USER32_CS
compat_text64: .ascii "int 0x80 write from 64-bit code\n"
compat_text64_end:
compat_text32: .ascii "int 0x80 write from compatibility mode\n"
compat_text32_end:
	.balign 8
u32_getpid: .quad 0			# results the 32-bit code stores (32 bits each) for the 64-bit checks
u32_write: .quad 0
u32_enosys: .quad 0
u32_cs: .quad 0
u32_kept: .quad -1
	.balign 16
u32_stack: .skip 1024
u32_stack_top:
