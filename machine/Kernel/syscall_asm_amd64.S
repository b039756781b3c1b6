# syscall_asm_amd64.S: the illumos flavour of the system-call entries (ILLUMOS=1), named as illumos names them:
# sys_syscall (64-bit SYSCALL, LSTAR), sys_syscall32 (SYSCALL from compatibility mode, CSTAR: AMD), sys_sysenter
# (SYSENTER: Intel) and sys_syscall_int (int $0x91, a DPL 3 gate). illumos_syscall_init points the MSRs at them at boot;
# int 0x80, the exceptions, the interrupts and the IRET exit stay the kernel's, and so do the system calls themselves
# (Linux's numbers and register arguments, pt_regs frames), so the self-test runs unchanged on either flavour.
#
# What differs is how the fast exits decide they may use SYSRET or SYSEXIT. Linux compares the saved frame with what
# the instruction would produce (RCX = RIP, R11 = RFLAGS, the selectors, RF and TF). illumos trusts the frame unless
# someone said otherwise: code that changes a user's registers beyond the result (sigreturn, a fault frame, exit
# work, iopl) raises the thread's post-syscall flag (t_post_sys; here PER_CPU_POST_SYS, SET_POST_SYS in defs.inc), and
# the exit then goes the slow way, through IRET. The one check left is the canonical return address, which SYSRET on
# Intel would fault on at CPL 0 with the user's stack (CVE-2012-0217): an arithmetic shift by 47 leaves 0 or -1 for a
# canonical address, so after adding 1 anything above 1 (unsigned) is not canonical. SYSRET_CHECK=0 leaves it out,
# as on the Linux flavour.

	.if ILLUMOS
	.section .entry.text, "ax"

	.globl sys_syscall
	.type sys_syscall, @function
sys_syscall:
	swapgs
	mov %rsp, %gs:PER_CPU_USER_RSP		# illumos's CPU_RTMP_RSP
	SWITCH_TO_KERNEL_CR3 %rsp
	mov %gs:PER_CPU_TOP_OF_STACK, %rsp	# the thread's stack (illumos: T_STACK of CPU_THREAD)
	pushq $__USER_DS
	pushq %gs:PER_CPU_USER_RSP
	pushq %r11
	pushq $__USER_CS
	pushq %rcx
	pushq %rax
	PUSH_REGS rax=$-ENOSYS
	movq $0, %gs:PER_CPU_POST_SYS
	mov %rsp, %rdi
	mov %eax, %esi
	call do_syscall_64
	cmpq $0, %gs:PER_CPU_POST_SYS		# somebody changed the frame: the full restore
	jne sys_rtt_syscall
	.if SYSRET_CHECK
	movq RIP(%rsp), %rcx
	sarq $(__VIRTUAL_MASK_SHIFT), %rcx
	incq %rcx
	cmpq $1, %rcx
	ja sys_rtt_syscall
	.endif
	POP_REGS
	movq RIP - RDI(%rsp), %rcx		# SYSRET's RIP and RFLAGS come from the frame, whatever RCX and R11 held
	movq EFLAGS - RDI(%rsp), %r11
	SYSRET_VIA_TRAMPOLINE sysretq
	.size sys_syscall, . - sys_syscall

# sys_rtt_syscall: the slow way back, the kernel's IRET exit (illumos's _syscall_post ends in _sys_rtt's IRET).
sys_rtt_syscall:
	jmp swapgs_restore_regs_and_return_to_usermode

# sys_syscall32: SYSCALL from compatibility mode (AMD). The return EIP is in ECX, so the self-test's i386 callers pass
# the second argument in EBP (Linux's convention, kept so both flavours run the same user code) and the sixth on the
# stack (do_fast_syscall_32).
	.globl sys_syscall32
	.type sys_syscall32, @function
sys_syscall32:
	SYSCALL_COMPAT_FRAME			# entry_64_compat.S
	movq $0, %gs:PER_CPU_POST_SYS
	mov %rsp, %rdi
	call do_fast_syscall_32
	cmpq $0, %gs:PER_CPU_POST_SYS
	jne sys_rtt_syscall
	jmp sysret32_from_system_call		# the kernel's SYSRETL exit: EIP and EFLAGS from the frame
	.size sys_syscall32, . - sys_syscall32

# sys_sysenter: SYSENTER (Intel). illumos's convention: the caller says where to come back, EDX = the return EIP and
# ECX = its ESP, and the exit is SYSEXIT, which loads exactly those (EIP = EDX, ESP = ECX, CS and SS from
# SYSENTER_CS). The i386 arguments that travelled in ECX and EDX are on the user stack then: __kernel_vsyscall pushed
# ECX, EDX and EBP before it overwrote them, so they are at ESP + 8, + 4 and + 0. SYSENTER leaves TF set: the first
# instructions up to the POPF trap while a user single-steps (the #DB handler lets steps inside .entry.text go on).
	.globl sys_sysenter
	.type sys_sysenter, @function
sys_sysenter:
	pushfq					# the user's RFLAGS but IF (SYSENTER cleared it)
	pushq $X86_EFLAGS_FIXED
	popfq
	SYSENTER_TO_THREAD_STACK		# entry_64_compat.S
	pushq $__USER32_DS
	movl %ecx, %ecx
	pushq %rcx				# the ESP the caller gave
	pushq 8(%rax)
	orq $X86_EFLAGS_IF, (%rsp)
	pushq $__USER32_CS
	movl %edx, %edx
	pushq %rdx				# the EIP the caller gave
	mov (%rax), %rax
	pushq %rax
	PUSH_REGS rax=$-ENOSYS
	movq $0, %gs:PER_CPU_POST_SYS
	mov %rsp, %rdi
	call sysenter_args
	cmpq $0, %gs:PER_CPU_POST_SYS
	jne sys_rtt_syscall
	cmpb $0, sysexit_usable
	je sys_rtt_syscall
	POP_REGS				# RSP at the RDI slot; ECX and EDX are SYSEXIT's now
	movl RSP - RDI(%rsp), %ecx
	movl RIP - RDI(%rsp), %edx
	mov %rsp, %rdi
	mov %gs:PER_CPU_TRAMPOLINE_TOP, %rsp
	pushq EFLAGS - RDI(%rdi)
	andq $~X86_EFLAGS_IF, (%rsp)		# IF last, with STI, whose shadow covers SYSEXIT
	pushq (%rdi)
	SWITCH_TO_USER_CR3 %rdi
	popq %rdi
	popfq					# the user's flags (SYSEXIT keeps RFLAGS): TF was refused above (post-sys)
	swapgs
	sti
	sysexit
	.size sys_sysenter, . - sys_sysenter

# sys_syscall_int: int $0x91 from 64-bit code: the 64-bit ABI through an interrupt gate. The frame the gate pushed is
# an exception's with the number where the error code would be, so error_entry moves it to the thread stack; the way
# back is always IRET (illumos sets t_post_sys here), so every register but RAX comes back.
	.globl sys_syscall_int
	.type sys_syscall_int, @function
sys_syscall_int:
	pushq %rax				# orig_ax: the number
	PUSH_REGS rax=$-ENOSYS
	call error_entry
	mov %rax, %rsp
	mov %rsp, %rdi
	mov ORIG_RAX(%rsp), %esi
	call do_syscall_64
	jmp sys_rtt_syscall
	.size sys_syscall_int, . - sys_syscall_int
	IDT_GATE T_SYSCALLINT, sys_syscall_int, dpl=3

	.section .text.kernel, "ax"

# sysenter_args: RDI = sys_sysenter's frame. The ECX, EDX and EBP arguments from the user stack (see above) into the
# frame, then the compat system call; -EFAULT when the stack cannot be read.
sysenter_args:
	push %rbx
	mov %rdi, %rbx
	sub $16, %rsp
	mov %rsp, %rdi
	mov RSP(%rbx), %esi
	mov $12, %ecx
	call copy_from_user
	test %rax, %rax
	jnz 1f
	movl (%rsp), %eax
	mov %rax, RBP(%rbx)
	movl 4(%rsp), %eax
	mov %rax, RDX(%rbx)
	movl 8(%rsp), %eax
	mov %rax, RCX(%rbx)
	mov %rbx, %rdi
	call do_syscall_32
	jmp 2f
1:	mov %rax, RAX(%rbx)
2:	add $16, %rsp
	pop %rbx
	ret

# illumos_syscall_init: after syscall_init, the fast entries lead here instead of to Linux's. SYSEXIT is an Intel
# instruction in long mode (the APM has SYSENTER and SYSEXIT #UD there), so only on Intel does sys_sysenter leave by
# it; an AMD processor that ran SYSENTER anyway (QEMU 7.2 does, whatever the vendor) gets the IRET exit.
	.globl illumos_syscall_init
illumos_syscall_init:
	xor %eax, %eax
	cpuid
	cmp $0x756e6547, %ebx			# "Genu" "ineI" "ntel"
	jne 1f
	cmp $0x49656e69, %edx
	jne 1f
	cmp $0x6c65746e, %ecx
	jne 1f
	movb $1, sysexit_usable
1:	xor %edx, %edx
	mov $MSR_LSTAR, %ecx
	mov $sys_syscall, %eax
	wrmsr
	mov $MSR_CSTAR, %ecx
	mov $sys_syscall32, %eax
	wrmsr
	mov $MSR_IA32_SYSENTER_EIP, %ecx
	mov $sys_sysenter, %eax
	wrmsr
	ret

	.data
sysexit_usable:	.byte 0			# 1 on Intel (illumos_syscall_init)
	.endif
