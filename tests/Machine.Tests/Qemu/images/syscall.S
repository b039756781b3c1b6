# SYSCALL/SYSRET and IRET to user mode (SDM vol. 3 §5.8.8, vol. 2 SYSCALL/SYSRET/SWAPGS): the kernel sets
# EFER.SCE, STAR, LSTAR, SFMASK and KERNEL_GS_BASE, opens the first 2 MiB to CPL 3 and IRETQs to user code there.
# The user issues system calls; entry_SYSCALL_64 swaps GS, finds its stack through the per-CPU area, prints what
# the processor left in RCX, R11, CS and SS, swaps back and returns with SYSRETQ. A DPL 3 gate at 0x80 shows the
# frame an INT from CPL 3 pushes on the TSS's RSP0 stack, and a user access to a supervisor page the #PF frame.
# RCX is always canonical on SYSRETQ: QEMU raises no #GP for a non-canonical RCX on either vendor, and unit
# tests cover that case against the manuals instead.
	.include "longmode.inc"
	# per-CPU area: a value to find, the user RSP while in the kernel, the kernel stack top
	.set PERCPU_VALUE, 0
	.set PERCPU_USER_RSP, 8
	.set PERCPU_KERNEL_STACK, 16
	.set SYS_EXIT, 0
	.set SYS_PRINT, 1

	.code64
	.text
main64:
	mov $0x80, %edi
	mov $int80, %esi
	mov $0xee00, %edx		# interrupt gate, DPL 3: user code may INT 0x80
	call set_gate
	mov $14, %edi
	mov $page_fault, %esi
	mov $0x8e00, %edx
	call set_gate
	orq $PTE_US, pd			# the image's 2 MiB page, user code and data included
	mov %cr3, %rax			# drop the translation cached without U/S
	mov %rax, %cr3

	mov $kernel_stack_top, %eax
	mov $entry_SYSCALL_64, %esi
	mov $percpu, %edi
	call syscall_init
	movq $0x5ca1ab1e0000c0de, %rax
	mov %rax, percpu + PERCPU_VALUE
	movq $kernel_stack_top, percpu + PERCPU_KERNEL_STACK

	# to user_main, at CPL 3
	mov $user_main, %esi
	mov $user_stack_top, %edi
	jmp enter_user

entry_SYSCALL_64:
	swapgs
	mov %rsp, %gs:PERCPU_USER_RSP
	mov %gs:PERCPU_KERNEL_STACK, %rsp
	push %rax
	show "syscall "
	mov %rcx, %rax
	show "  rcx "
	mov %r11, %rax
	show "  r11 "
	mov %cs, %eax
	show "  cs "
	mov %ss, %eax
	show "  ss "
	mov %gs:PERCPU_VALUE, %rax
	show "  gs:0 "
	push %rcx
	mov $MSR_GS_BASE, %ecx
	call read_msr
	show "  gs base "
	mov $MSR_KERNEL_GS_BASE, %ecx
	call read_msr
	show "  kernel gs base "
	pop %rcx
	pop %rax
	cmp $SYS_EXIT, %eax
	jne 1f
	mov %edi, %eax
	jmp exit
1:	mov %rdi, %rax
	show "  print "
	mov %gs:PERCPU_USER_RSP, %rsp
	swapgs
	sysretq

int80:
	push %rax
	print "int 0x80\n"
	push %rsi
	lea 16(%rsp), %rsi
	mov %rsi, %rax
	show "  rsp at entry "
	call show_frame
	pop %rsi
	pop %rax
	iretq

# page_fault: a fault at CPL 3, delivered on RSP0's stack; print the error code (U/S set), CR2 and the frame,
# and resume the user at the label after the access.
page_fault:
	push %rsi
	push %rax
	print "#PF\n"
	mov 16(%rsp), %rax
	show "  error code "
	mov %cr2, %rax
	show "  cr2 "
	lea 24(%rsp), %rsi
	call show_frame
	movq $1f, 24(%rsp)
	pop %rax
	pop %rsi
	add $8, %rsp
	iretq

user_main:
	mov %cs, %edi
	shl $16, %edi
	mov %ss, %di			# CS:SS as CPL 3 sees them
	mov $SYS_PRINT, %eax
	cmp $SYS_PRINT, %eax		# flags for R11: ZF PF
	syscall
	movq $0x1122334455667788, %rdi
	mov $SYS_PRINT, %eax
	sub $2, %eax			# flags: CF SF PF AF; RAX is -1, not a system call number we know: print
	syscall
	int $0x80
	mov 0x200000, %eax		# the next 2 MiB are supervisor-only: #PF, resumed after
1:	mov $SYS_EXIT, %eax
	mov $0x23, %edi
	syscall

	.bss
	.align 16
percpu:	.skip 64
	.skip 4096
kernel_stack_top:
	.skip 4096
user_stack_top:
