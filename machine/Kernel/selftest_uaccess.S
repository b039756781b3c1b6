# selftest_uaccess.S: user pointers reach only user memory. The kernel is identity-mapped at 1 MiB, below
# TASK_SIZE_MAX, so every system call that takes a pointer must refuse kernel addresses (access_ok) rather than
# read or write the kernel's memory for the user; Linux answers -EFAULT.

	.section .user.text, "ax"

	SELFTEST test_uaccess
test_uaccess:
	mov $__NR_write, %eax
	mov $1, %edi
	mov $kernel_pml4, %esi			# the kernel's top-level page table: its first entry would be printed
	mov $8, %edx
	syscall
	CHECK "write from the kernel's page tables is -EFAULT", %rax, $-EFAULT
	mov $__NR_write, %eax
	mov $1, %edi
	mov $percpu, %esi			# the per-CPU area: the user root maps it (entry data), user code may not read it
	mov $8, %edx
	syscall
	CHECK "write from the per-CPU area is -EFAULT", %rax, $-EFAULT
	mov $__NR_write, %eax
	mov $1, %edi
	mov $(__bss_start - 1), %esi		# the last user byte and the first kernel one
	mov $2, %edx
	syscall
	CHECK "write across the end of the user data is -EFAULT", %rax, $-EFAULT
	mov $__NR_arch_prctl, %eax
	mov $ARCH_GET_FS, %edi
	mov $sys_call_table, %esi		# the kernel would store the FS base over a system call's handler
	syscall
	CHECK "arch_prctl(ARCH_GET_FS) into the system call table is -EFAULT", %rax, $-EFAULT
	mov $__NR_arch_prctl, %eax
	mov $ARCH_GET_FS, %edi
	lea -16(%rsp), %rsi			# the user stack is user memory
	syscall
	CHECK "arch_prctl(ARCH_GET_FS) onto the user stack", %rax, $0
	mov $__NR_arch_prctl, %eax
	mov $ARCH_GET_FS, %edi
	mov $test_uaccess, %esi			# user memory, but read-only: the kernel's store faults (CR0.WP) and is fixed up
	syscall
	CHECK "arch_prctl(ARCH_GET_FS) into read-only user text is -EFAULT", %rax, $-EFAULT
	mov $__NR_rt_sigreturn, %eax
	mov $thread_stack_top - UFRAME_SIZE, %edi	# a frame of the kernel's own: it must not become the user's registers
	syscall
	CHECK "rt_sigreturn of a frame on the kernel stack is -EFAULT", %rax, $-EFAULT
	ret
