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
	jrcxz 2f
	ASM_STAC
write_user_lodsb:
4:	lodsb					# a page that faults resumes at write_user_fault (-EFAULT)
	call serial_putc
	loop 4b
	ASM_CLAC
2:	mov %rdx, %rax
	ret
write_user_fault:
	ASM_CLAC
3:	mov $-EFAULT, %rax
	ret
	_ASM_EXTABLE write_user_lodsb, write_user_fault

# access_ok: CF clear when [RSI, RSI + RCX) lies in memory user code may touch. The kernel is identity-mapped below
# TASK_SIZE_MAX, so "below TASK_SIZE_MAX" is not enough: the range must lie inside one of the two user regions of this
# layout, the image's user sections [__user_text_start, __bss_start) or the user stack with the boundary page
# [USER_STACK_BOTTOM, TASK_SIZE_MAX). Anything else (kernel text, page tables, the per-CPU area) is refused, so a
# user pointer never makes the kernel read or write its own memory. Keeps every register but flags.
access_ok:
	push %rax
	push %rdx
	mov %rsi, %rax
	add %rcx, %rax				# RAX = the end
	jc 1f					# wraps around: CF says no
	movabs $USER_STACK_BOTTOM, %rdx
	cmp %rdx, %rsi
	jb 2f
	movabs $TASK_SIZE_MAX, %rdx
	cmp %rax, %rdx				# CF when TASK_SIZE_MAX < end
	jmp 1f
2:	cmp $__user_text_start, %rsi
	jb 3f
	mov $__bss_start, %edx
	cmp %rax, %rdx				# CF when __bss_start < end
	jmp 1f
3:	stc
1:	pop %rdx
	pop %rax
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
2:	rdmsr
	shl $32, %rdx
	or %rdx, %rax
	push %rax				# the base, copied out from the kernel stack
	mov %rsi, %rdi
	mov %rsp, %rsi
	mov $8, %ecx
	call copy_to_user			# -EFAULT for a kernel address or a page that faults (read-only user text)
	pop %rcx
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

# iopl(level): the I/O privilege level of user code (0-3) in the saved RFLAGS, so IN, OUT, CLI and STI work at CPL 3
# when it is 3. The exit restores it: IRET at CPL 0 loads IOPL (a SYSRET takes R11, which no longer matches the frame's
# RFLAGS, so the 64-bit exit goes the IRET way). SYSCALL's SFMASK clears IOPL in the kernel, never in the frame.
	SYSCALL_64 __NR_iopl, sys_iopl
sys_iopl:
	mov RDI(%rdi), %rax
	jmp 1f
# compat iopl(level in EBX): a handler of its own, as SYSCALL_IA32's copy of the frame would lose the new RFLAGS.
	SYSCALL_COMPAT __NR_compat_iopl, sys_compat_iopl
sys_compat_iopl:
	mov RBX(%rdi), %eax
1:	cmp $3, %rax
	ja 2f
	shl $12, %eax
	SET_POST_SYS
	andq $~X86_EFLAGS_IOPL, EFLAGS(%rdi)
	or %rax, EFLAGS(%rdi)
	xor %eax, %eax
	ret
2:	mov $-EINVAL, %rax
	ret
