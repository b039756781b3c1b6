# selftest_syscall64.S: the 64-bit SYSCALL path as user code sees it (what Linux's x86 selftests check of it).

	.set SELFTEST_MAGIC, 0x5ca1ab1e600df00d

	.section .user.text, "ax"

	SELFTEST test_getpid
test_getpid:
	mov $__NR_getpid, %eax
	syscall
	CHECK "getpid", %rax, $TASK_PID
	ret

# The number is the low 32 bits of RAX: bits 63:32 are ignored, and a number past the table is -ENOSYS, even when
# its low 32 bits read as a negative int.
	SELFTEST test_syscall_number
test_syscall_number:
	movabs $(0xdead00000000 | __NR_getpid), %rax
	syscall
	CHECK "syscall number: upper 32 bits ignored", %rax, $TASK_PID
	mov $NR_syscalls, %eax
	syscall
	CHECK "syscall number: first past the table is -ENOSYS", %rax, $-ENOSYS
	mov $-1, %rax
	syscall
	CHECK "syscall number: -1 is -ENOSYS", %rax, $-ENOSYS
	movabs $0x100000000 + NR_syscalls, %rax
	syscall
	CHECK "syscall number: out of range with upper bits is -ENOSYS", %rax, $-ENOSYS
	ret

	SELFTEST test_write
test_write:
	mov $__NR_write, %eax
	mov $1, %edi
	mov $write_text, %esi
	mov $write_text_end - write_text, %edx
	syscall
	CHECK "write: returns the count", %rax, $(write_text_end - write_text)
	mov $__NR_write, %eax
	mov $3, %edi
	mov $write_text, %esi
	mov $1, %edx
	syscall
	CHECK "write: fd 3 is -EBADF", %rax, $-EBADF
	mov $__NR_write, %eax
	mov $1, %edi
	movabs $0xffff800000000000, %rsi	# kernel space
	mov $1, %edx
	syscall
	CHECK "write: a kernel buffer is -EFAULT", %rax, $-EFAULT
	ret

# SYSCALL clears NT (SFMASK); the return must give the user's NT back (Linux's syscall_nt test).
	SELFTEST test_nt_preserved
test_nt_preserved:
	pushfq
	orq $X86_EFLAGS_NT, (%rsp)
	popfq
	mov $__NR_getpid, %eax
	syscall
	pushfq
	pop %rbx
	pushfq
	andq $~X86_EFLAGS_NT, (%rsp)
	popfq
	and $X86_EFLAGS_NT, %ebx
	CHECK "NT preserved across syscall", %rbx, $X86_EFLAGS_NT
	ret

# When the exit work leaves RCX != RIP in the frame, the kernel must return with IRET: the user then sees the
# frame's RCX. (SYSRET would have jumped to it.)
	SELFTEST test_sysret_refused_rcx
test_sysret_refused_rcx:
	mov $__NR_force_exit_work, %eax
	mov $EXIT_WORK_SET_RCX, %edi
	movabs $SELFTEST_MAGIC, %rsi
	syscall
	mov %rcx, %rbx
	CHECK "exit work with RCX != RIP: returns 0", %rax, $0
	movabs $SELFTEST_MAGIC, %rax
	CHECK "exit work with RCX != RIP: IRET returns the frame's RCX", %rbx, %rax
	ret

# Likewise R11 != RFLAGS: after IRET, R11 is the frame's and RFLAGS the user's own (CF clear); SYSRET would have
# loaded RFLAGS from R11 (CF set).
	SELFTEST test_sysret_refused_r11
test_sysret_refused_r11:
	mov $__NR_force_exit_work, %eax
	mov $EXIT_WORK_SET_R11, %edi
	mov $(USER_INITIAL_RFLAGS | X86_EFLAGS_CF), %esi
	clc
	syscall
	setc %bl
	movzbl %bl, %ebx
	mov %r11, %r12
	CHECK "exit work with R11 != RFLAGS: IRET returns the frame's R11", %r12, $(USER_INITIAL_RFLAGS | X86_EFLAGS_CF)
	CHECK "exit work with R11 != RFLAGS: RFLAGS are the user's", %rbx, $0
	ret

# The GS base the user set (arch_prctl) is the one it finds after each way back: SYSRET and IRET.
	SELFTEST test_gs_base
test_gs_base:
	mov $__NR_arch_prctl, %eax
	mov $ARCH_SET_GS, %edi
	mov $gs_area, %esi
	syscall
	CHECK "arch_prctl(ARCH_SET_GS)", %rax, $0
	mov $__NR_getpid, %eax
	syscall
	mov %gs:0, %rbx
	movabs $SELFTEST_MAGIC, %rax
	CHECK "GS base unchanged after SYSCALL (SYSRET)", %rbx, %rax
	mov $__NR_force_exit_work, %eax
	mov $EXIT_WORK_SET_R11, %edi		# R11 = 0 != RFLAGS: the return takes IRET
	xor %esi, %esi
	syscall
	mov %gs:0, %rbx
	movabs $SELFTEST_MAGIC, %rax
	CHECK "GS base unchanged after SYSCALL (IRET)", %rbx, %rax
	mov $__NR_arch_prctl, %eax
	mov $ARCH_GET_GS, %edi
	mov $gs_read_back, %esi
	syscall
	CHECK "arch_prctl(ARCH_GET_GS)", gs_read_back, $gs_area
	mov $__NR_arch_prctl, %eax
	mov $ARCH_SET_GS, %edi
	movabs $0xffff800000000000, %rsi	# kernel space
	syscall
	CHECK "arch_prctl(ARCH_SET_GS) to a kernel address is -EPERM", %rax, $-EPERM
	mov $__NR_arch_prctl, %eax
	mov $ARCH_SET_GS, %edi
	xor %esi, %esi
	syscall
	ret

	.section .user.data, "aw"
	.balign 8
gs_area: .quad SELFTEST_MAGIC
gs_read_back: .quad 0
write_text: .ascii "write: hello from user mode\n"
write_text_end:
