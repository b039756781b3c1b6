# selftest_espfix.S: LDT segments from modify_ldt, ESPFIX64 (a return to a 16-bit stack segment shows the user only
# the user's own ESP), and iopl (port I/O at CPL 3). What Linux's x86 selftests ldt_gdt, sigreturn and iopl check.

	.set LDT_SS16, (0 << 3) | 4 | 3		# LDT entry 0: a 16-bit data segment (B = 0)
	.set LDT_SS32, (1 << 3) | 4 | 3		# LDT entry 1: a flat 32-bit data segment
	.set ESPFIX_USER_ESP, 0x12345678	# bits 31:16 unlike any kernel stack address's
	.set UART_SCR, 7			# the 16550's scratch register: a port whose value reads back

	.section .user.text, "ax"

	SELFTEST test_modify_ldt
test_modify_ldt:
	mov $__NR_modify_ldt, %eax
	mov $MODIFY_LDT_WRITE, %edi
	mov $u_ldt_ss16, %esi
	mov $USER_DESC_SIZE, %edx
	syscall
	CHECK "modify_ldt: a 16-bit data segment", %rax, $0
	mov $__NR_compat_modify_ldt, %eax
	mov $MODIFY_LDT_WRITE, %ebx
	mov $u_ldt_ss32, %ecx
	mov $USER_DESC_SIZE, %edx
	int $0x80
	CHECK "modify_ldt (int 0x80): a 32-bit data segment", %rax, $0
	mov $__NR_modify_ldt, %eax
	mov $MODIFY_LDT_READ, %edi
	mov $u_ldt_read, %esi
	mov $(2 * LDT_ENTRY_SIZE), %edx
	syscall
	CHECK "modify_ldt(0) reads the entries", %rax, $(2 * LDT_ENTRY_SIZE)
	movabs $0x0000f3000000ffff, %rbx	# limit 0xffff, base 0; present, DPL 3, writable data, accessed; B = 0
	CHECK "modify_ldt: the 16-bit entry's descriptor", u_ldt_read, %rbx
	movabs $0x00cff3000000ffff, %rbx	# the same with limit 0xfffff in pages, D/B = 1
	CHECK "modify_ldt: the 32-bit entry's descriptor", u_ldt_read + 8, %rbx
	mov $LDT_SS32, %eax			# ES: unused in 64-bit code, so loading it changes nothing else
	mov %eax, %es
	mov %es, %ebx
	CHECK "modify_ldt: its selector loads into ES", %rbx, $LDT_SS32
	mov $__USER_DS, %eax
	mov %eax, %es

	.irp field, u_ldt_bad_entry, u_ldt_conforming
	mov $__NR_modify_ldt, %eax
	mov $MODIFY_LDT_WRITE, %edi
	mov $\field, %esi
	mov $USER_DESC_SIZE, %edx
	syscall
	mov %rax, \field + USER_DESC_SIZE	# the result, after the description
	.endr
	CHECK "modify_ldt: an entry past the LDT is -EINVAL", u_ldt_bad_entry + USER_DESC_SIZE, $-EINVAL
	CHECK "modify_ldt: a present conforming code segment is -EINVAL", u_ldt_conforming + USER_DESC_SIZE, $-EINVAL
	mov $__NR_modify_ldt, %eax
	mov $MODIFY_LDT_WRITE, %edi
	mov $u_ldt_ss16, %esi
	mov $(USER_DESC_SIZE - 4), %edx
	syscall
	CHECK "modify_ldt: a short description is -EINVAL", %rax, $-EINVAL
	mov $__NR_modify_ldt, %eax
	mov $MODIFY_LDT_WRITE, %edi
	mov $ldt_table, %esi			# the kernel's own LDT as the description: not user memory
	mov $USER_DESC_SIZE, %edx
	syscall
	CHECK "modify_ldt: a kernel pointer is -EFAULT", %rax, $-EFAULT
	mov $__NR_modify_ldt, %eax
	mov $3, %edi
	syscall
	CHECK "modify_ldt: an unknown func is -ENOSYS", %rax, $-ENOSYS
	ret

# rt_sigreturn to compatibility mode with an LDT stack segment and ESP = ESPFIX_USER_ESP, whose code keeps ESP and SS
# and far-jumps home (u_call32's way, u_back64).
	.macro SIGRETURN_TO_LDT_SS ss, code
	mov %rsp, u_rsp64
	mov $__USER_DS, %eax			# the 32-bit code writes through DS
	mov %eax, %ds
	movq $\code, u_fault_resume
	movq $ESPFIX_USER_ESP, u_fault_resume_rsp
	call u_frame_prepare
	movq $__USER32_CS, u_frame + UFRAME_REGS + CS
	movq $\ss, u_frame + UFRAME_REGS + SS
	SIGRETURN
	ud2					# rt_sigreturn does not come back here
	.endm

	SELFTEST test_espfix
test_espfix:
	movq $0, u_espfix_esp
	call 1f
	CHECK "ESPFIX: after rt_sigreturn to a 16-bit SS, ESP is the user's (bits 31:16 not the kernel stack's)", u_espfix_esp, $ESPFIX_USER_ESP
	CHECK "ESPFIX: SS is the 16-bit LDT selector", u_espfix_ss, $LDT_SS16
	movq $0, u_espfix_esp
	call 2f
	CHECK "rt_sigreturn to a 32-bit LDT SS: ESP is the user's", u_espfix_esp, $ESPFIX_USER_ESP
	CHECK "rt_sigreturn to a 32-bit LDT SS: SS is the LDT selector", u_espfix_ss, $LDT_SS32

	# A frame whose IRET faults with the 16-bit SS: on the read-only espfix stack the CPU cannot push the #GP's frame
	# (a #DF), and the kernel hands the user the #GP at the frame's RIP.
	ARM_FAULT 3f
	call u_frame_prepare
	movq $U_BAD_SELECTOR, u_frame + UFRAME_REGS + CS
	movq $LDT_SS16, u_frame + UFRAME_REGS + SS
	SIGRETURN
3:	CHECK "ESPFIX: an IRET that faults on the espfix stack is the user's #GP", u_fault_vector, $X86_TRAP_GP
	CHECK "ESPFIX: the #GP is reported at the frame's RIP", u_fault_rip, $3b
	CHECK_GS_AFTER "an IRET fault on the espfix stack"
	ret
1:	SIGRETURN_TO_LDT_SS LDT_SS16, espfix_compat
2:	SIGRETURN_TO_LDT_SS LDT_SS32, espfix_compat

	.code32
espfix_compat:
	mov %esp, u_espfix_esp
	mov %ss, u_espfix_ss
	ljmp $__USER_CS, $u_back64
	.code64

	SELFTEST test_iopl
test_iopl:
	ARM_FAULT 1f
	mov $(COM1 + UART_SCR), %edx
	mov $0x5a, %al
	out %al, %dx
1:	CHECK "iopl: OUT at CPL 3 with IOPL 0 is #GP", u_fault_vector, $X86_TRAP_GP
	mov $__NR_iopl, %eax
	mov $3, %edi
	syscall
	CHECK "iopl(3)", %rax, $0
	pushfq
	pop %rbx
	and $X86_EFLAGS_IOPL, %ebx
	CHECK "iopl(3): RFLAGS.IOPL is 3", %rbx, $X86_EFLAGS_IOPL
	mov $(COM1 + UART_SCR), %edx
	mov $0x5a, %al
	out %al, %dx
	xor %eax, %eax
	in %dx, %al
	movzbl %al, %ebx
	CHECK "iopl(3): OUT and IN at CPL 3 reach the port", %rbx, $0x5a
	mov $__NR_iopl, %eax
	mov $4, %edi
	syscall
	CHECK "iopl(4) is -EINVAL", %rax, $-EINVAL
	mov $__NR_compat_iopl, %eax
	xor %ebx, %ebx
	int $0x80
	CHECK "iopl(0) (int 0x80)", %rax, $0
	pushfq
	pop %rbx
	and $X86_EFLAGS_IOPL, %ebx
	CHECK "iopl(0): RFLAGS.IOPL is 0", %rbx, $0
	ret

	.section .user.data, "aw"
	.balign 8
# struct user_desc: entry_number, base_addr, limit, flags (defs in ldt.S); each followed by a quad for the result.
u_ldt_ss16:		.long 0, 0, 0xffff, 0
u_ldt_ss32:		.long 1, 0, 0xfffff, UD_SEG_32BIT | UD_LIMIT_IN_PAGES
u_ldt_bad_entry:	.long LDT_ENTRIES, 0, 0xffff, 0
			.quad 0
u_ldt_conforming:	.long 2, 0, 0xfffff, (3 << UD_CONTENTS_SHIFT) | UD_SEG_32BIT | UD_LIMIT_IN_PAGES
			.quad 0
u_ldt_read:		.quad 0, 0
u_espfix_esp:		.quad 0
u_espfix_ss:		.quad 0
