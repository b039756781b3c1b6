# syscalls.S: the kernel's system calls. Each handler gets RDI = the pt_regs frame and reads its arguments there
# (RDI, RSI, RDX, R10, R8, R9 for the 64-bit ABI), as Linux's pt_regs wrappers do; it returns the result in RAX.
# Register one with SYSCALL_64 (and SYSCALL_COMPAT for the i386 number) next to it.

	.section .text.kernel, "ax"

sys_ni_syscall:
	mov $-ENOSYS, %rax
	ret

	SYSCALL_64 __NR_getpid, sys_getpid
	SYSCALL_COMPAT __NR_compat_getpid, sys_getpid
sys_getpid:
	mov $TASK_PID, %eax
	ret

# write(fd, buf, count): fd 1 and 2 go to COM1; the whole buffer must lie in user space.
	SYSCALL_64 __NR_write, sys_write
	SYSCALL_IA32 __NR_compat_write, sys_write
sys_write:
	mov RDI(%rdi), %rax
	cmp $1, %rax
	je 1f
	cmp $2, %rax
	je 1f
	mov $-EBADF, %rax
	ret
1:	mov RSI(%rdi), %rsi
	mov RDX(%rdi), %rcx
	call access_ok
	jc 3f
	mov %rcx, %rdx				# the result: every byte is written
	pushfq					# AC is clear here (SFMASK); popping this copy clears it again
	call user_access_begin
	jrcxz 2f
4:	lodsb
	call serial_putc
	loop 4b
2:	popfq
	mov %rdx, %rax
	ret
3:	mov $-EFAULT, %rax
	ret

# access_ok: CF clear when [RSI, RSI + RCX) lies in user space (below TASK_SIZE_MAX, without wrapping).
# Keeps every register but flags.
access_ok:
	push %rax
	push %rdx
	mov %rsi, %rax
	add %rcx, %rax
	jc 1f					# wraps around
	movabs $TASK_SIZE_MAX, %rdx
	cmp %rax, %rdx				# CF when TASK_SIZE_MAX < end
1:	pop %rdx
	pop %rax
	ret

# user_access_begin: set EFLAGS.AC, which SMAP requires for supervisor accesses to user pages. POPF rather than
# STAC, so the same code runs on processors without SMAP (where STAC is #UD). The caller restores RFLAGS.
user_access_begin:
	pushfq
	orl $X86_EFLAGS_AC, (%rsp)
	popfq
	ret

# exit(status): the machine stops with the status (debug-exit).
	SYSCALL_64 __NR_exit, sys_exit
	SYSCALL_IA32 __NR_compat_exit, sys_exit
sys_exit:
	mov RDI(%rdi), %eax
	jmp machine_exit

# arch_prctl(code, addr): the user's FS and GS bases. The user GS base lives in KERNEL_GS_BASE while the kernel runs
# (the entry's SWAPGS put it there); the FS base is the MSR itself, as the kernel does not use FS.
	SYSCALL_64 __NR_arch_prctl, sys_arch_prctl
sys_arch_prctl:
	mov RDI(%rdi), %rax
	mov RSI(%rdi), %rsi
	mov $MSR_KERNEL_GS_BASE, %ecx
	cmp $ARCH_SET_GS, %rax
	je 1f
	cmp $ARCH_GET_GS, %rax
	je 2f
	mov $MSR_FS_BASE, %ecx
	cmp $ARCH_SET_FS, %rax
	je 1f
	cmp $ARCH_GET_FS, %rax
	je 2f
	mov $-EINVAL, %rax
	ret
1:	movabs $TASK_SIZE_MAX, %rax		# a base must be a user address (WRMSR would #GP on a non-canonical one)
	cmp %rax, %rsi
	jae 4f
	mov %esi, %eax
	mov %rsi, %rdx
	shr $32, %rdx
	wrmsr
	xor %eax, %eax
	ret
2:	mov %ecx, %r8d
	mov $8, %ecx
	call access_ok
	jc 3f
	mov %r8d, %ecx
	rdmsr
	shl $32, %rdx
	or %rdx, %rax
	pushfq
	call user_access_begin
	mov %rax, (%rsi)
	popfq
	xor %eax, %eax
	ret
3:	mov $-EFAULT, %rax
	ret
4:	mov $-EPERM, %rax			# as Linux answers a kernel address
	ret

# force_exit_work(work, value): Repl's own. Raises EXIT_WORK_* work for this system call's exit (see
# entry_64.S: syscall_exit_work), so a test can send a return down the slow path on purpose.
	SYSCALL_64 __NR_force_exit_work, sys_force_exit_work
sys_force_exit_work:
	mov RDI(%rdi), %rax
	test $~EXIT_WORK_MASK, %rax
	jnz 1f
	mov %rax, %gs:PER_CPU_EXIT_WORK
	mov RSI(%rdi), %rax
	mov %rax, %gs:PER_CPU_EXIT_WORK_VALUE
	xor %eax, %eax
	ret
1:	mov $-EINVAL, %rax
	ret
