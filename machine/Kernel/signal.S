# signal.S: user faults the way signals deliver them. One handler per task (rt_sigaction registers it); a fault from
# user mode with a handler gets a frame on the user stack (defs.inc: UFRAME_*) and the handler runs with RDI = the
# frame; rt_sigreturn(frame) loads the frame's registers back — any RIP, RSP, RFLAGS (the user's flags), CS and SS
# (RPL 3 forced) — and returns through the IRET exit, so a bad frame faults on the IRET itself (error_entry's bad
# IRET path turns that into a fault of the user at the frame's RIP). Without a handler a user fault ends the run
# with "FATAL user fault vector V at RIP R".

	.section .text.kernel, "ax"

# rt_sigaction(handler): 64-bit handler, runs with CS = __USER_CS; 0 unregisters. Returns the previous handler.
	SYSCALL_64 __NR_rt_sigaction, sys_rt_sigaction
sys_rt_sigaction:
	mov RDI(%rdi), %rsi
	mov $__USER_CS, %edx
	jmp 1f
# compat rt_sigaction(handler in EBX): the handler runs in compatibility mode, CS = __USER32_CS.
	SYSCALL_COMPAT __NR_compat_rt_sigaction, sys_compat_rt_sigaction
sys_compat_rt_sigaction:
	mov RBX(%rdi), %esi
	mov $__USER32_CS, %edx
1:	test %rsi, %rsi				# 0: no handler
	jz 3f
	mov $1, %ecx				# a handler is in user memory: not the kernel's text or data below TASK_SIZE_MAX,
	call access_ok				# where delivery would fault again at every fault
	jc 2f
3:	mov %gs:PER_CPU_FAULT_HANDLER, %rax
	mov %rsi, %gs:PER_CPU_FAULT_HANDLER
	mov %rdx, %gs:PER_CPU_FAULT_HANDLER_CS
	ret
2:	mov $-EFAULT, %rax
	ret

# rt_sigreturn(frame): RDI = the syscall's pt_regs, the frame pointer in its RDI (compat: EBX). The frame's registers
# replace the syscall frame, so the exit returns to them; the result is the frame's RAX (do_syscall_64 stores the
# result into regs->ax). A frame that cannot be read gives -EFAULT and changes nothing.
	SYSCALL_64 __NR_rt_sigreturn, sys_rt_sigreturn
sys_rt_sigreturn:
	mov RDI(%rdi), %rsi
	jmp 1f
	SYSCALL_COMPAT __NR_compat_sigreturn, sys_compat_sigreturn
sys_compat_sigreturn:
	mov RBX(%rdi), %esi
1:	push %rbx
	mov %rdi, %rbx
	sub $UFRAME_SIZE, %rsp
	mov %rsp, %rdi
	mov $UFRAME_SIZE, %ecx
	call copy_from_user
	test %rax, %rax
	jnz 3f
	SET_POST_SYS
	lea UFRAME_REGS(%rsp), %rsi		# R15 ... RDI: the general registers as they are
	mov %rbx, %rdi
	mov $(ORIG_RAX / 8), %ecx
	rep movsq
	movq $-1, ORIG_RAX(%rbx)		# not a system call any more
	mov UFRAME_REGS + RIP(%rsp), %rax	# any RIP: a non-canonical one makes the exit take IRET, which faults
	mov %rax, RIP(%rbx)
	mov UFRAME_REGS + RSP(%rsp), %rax
	mov %rax, RSP(%rbx)
	movzwl UFRAME_REGS + CS(%rsp), %eax	# any selector, compat and LDT ones too, but at RPL 3: never a return to ring 0
	or $3, %eax
	mov %rax, CS(%rbx)
	movzwl UFRAME_REGS + SS(%rsp), %eax
	or $3, %eax
	mov %rax, SS(%rbx)
	mov UFRAME_REGS + EFLAGS(%rsp), %rax	# only the flags user code may change itself; IF, IOPL, VM stay the kernel's
	and $FIX_EFLAGS, %eax
	mov EFLAGS(%rbx), %rdx
	and $~FIX_EFLAGS, %rdx
	or %rdx, %rax
	mov %rax, EFLAGS(%rbx)
	mov %gs, %eax				# a different GS selector is loaded (a bad one faults in asm_load_gs_index)
	cmpw %ax, UFRAME_GS(%rsp)
	je 2f
	movzwl UFRAME_GS(%rsp), %edi
	call asm_load_gs_index
2:	mov RAX(%rbx), %rax
3:	add $UFRAME_SIZE, %rsp
	pop %rbx
	ret

# deliver_user_fault(regs, error_code, vector, cr2): a fault from user mode (RDI = its pt_regs on the thread stack).
# Writes the frame on the user stack and points the pt_regs at the handler, so error_return enters it; without a
# handler, or when the frame cannot be written (a bad user RSP), the run ends.
	.globl deliver_user_fault
deliver_user_fault:
	cmpq $0, %gs:PER_CPU_FAULT_HANDLER
	je fatal_user_fault
	push %rbx
	push %r12
	mov %rdi, %rbx
	sub $(UFRAME_SIZE + 8), %rsp		# the frame as the user will see it, built here, behind a zero return address
	movq $0, (%rsp)
	mov %edx, %eax
	mov %rax, 8 + UFRAME_VECTOR(%rsp)
	mov %rsi, 8 + UFRAME_ERROR_CODE(%rsp)
	mov %rcx, 8 + UFRAME_CR2(%rsp)
	mov %gs, %eax				# 64-bit processors zero the upper half of the destination
	mov %rax, 8 + UFRAME_GS(%rsp)
	lea 8 + UFRAME_REGS(%rsp), %rdi
	mov %rbx, %rsi
	mov $(SIZEOF_PTREGS / 8), %ecx
	rep movsq
	mov RSP(%rbx), %r12			# the frame: below the red zone, 16-byte aligned
	sub $(USER_RED_ZONE + UFRAME_SIZE), %r12
	and $~15, %r12
	lea -8(%r12), %rdi
	mov %rsp, %rsi
	mov $(UFRAME_SIZE + 8), %ecx
	call copy_to_user
	mov 8 + UFRAME_VECTOR(%rsp), %edx
	add $(UFRAME_SIZE + 8), %rsp
	test %rax, %rax
	jnz 1f
	SET_POST_SYS
	mov %gs:PER_CPU_FAULT_HANDLER, %rax
	mov %rax, RIP(%rbx)
	mov %gs:PER_CPU_FAULT_HANDLER_CS, %rax
	mov %rax, CS(%rbx)
	movq $__USER_DS, SS(%rbx)
	lea -8(%r12), %rax
	mov %rax, RSP(%rbx)
	mov %r12, RDI(%rbx)
	andq $~(X86_EFLAGS_TF | X86_EFLAGS_DF | X86_EFLAGS_RF), EFLAGS(%rbx)	# the handler starts clean, as Linux's do
	pop %r12
	pop %rbx
	ret
1:	mov %rbx, %rdi				# no room for the frame: as if there were no handler
# fatal_user_fault: RDI = regs, EDX = vector.
fatal_user_fault:
	mov %rdi, %rbx
	KPRINT "FATAL user fault vector "
	mov %edx, %eax
	call serial_puthex
	jmp fatal_at_rip

# copy_to_user: RDI = user destination, RSI = kernel source, RCX = bytes. copy_from_user: RDI = kernel destination,
# RSI = user source. RAX = 0, or -EFAULT when the user range is not user space or a page of it faults (the
# exception table resumes at copy_user_fault). Clobber RCX, RSI, RDI.
copy_to_user:
	push %rsi
	mov %rdi, %rsi
	call access_ok
	pop %rsi
	jc 2f
	jmp 1f
copy_from_user:
	call access_ok
	jc 2f
1:	ASM_STAC
copy_user_movs:
	rep movsb
	ASM_CLAC
	xor %eax, %eax
	ret
copy_user_fault:
	ASM_CLAC
2:	mov $-EFAULT, %rax
	ret
	_ASM_EXTABLE copy_user_movs, copy_user_fault
