# idtentry.S: the exception entries — one stub per vector, error_entry/error_return for the ordinary ones,
# paranoid_entry/paranoid_exit for those that can arrive at any instruction (#DB, #MC, #DF: on IST stacks, maybe
# before the entry's SWAPGS or after the exit's), and the kernel-mode handlers (exception table fixups, the
# fatal report). The user-mode side — the fault frame on the user stack — is signal.S.
#
# What the CPU gives an exception handler (SDM vol. 3 §7.14, 64-bit mode): SS, RSP, RFLAGS, CS, RIP and, for some
# vectors, an error code, pushed on TSS.RSP0 (from user mode: the trampoline stack), on the current stack (from
# kernel mode) or on an IST stack (when the gate names one); IF cleared (interrupt gates), TF, NT and RF cleared;
# nothing else. GS base, CR3, DF and AC are what the interrupted code had. The stubs therefore live in .entry.text
# (the user root maps it) and reach the kernel's GS and CR3 before touching anything else.
#
# Vector 2 (NMI) is nmi.S's; every other vector below 32 has a stub here.

	.section .entry.text, "ax"

# idtentry vector, name, handler, dpl=0: the stub of an exception that uses the current stack (no IST). It makes
# the frame uniform (a dummy error code 0 where the CPU pushes none), saves every register as pt_regs, lets
# error_entry find the kernel's GS, CR3 and stack, and calls handler(regs, error_code, vector). ORIG_RAX is -1
# while the handler runs (not a system call), as Linux's.
	.macro idtentry vector, name, handler, dpl=0
	.globl \name
	.type \name, @function
\name:
	.if ((1 << \vector) & X86_TRAP_ERRCODE_MASK) == 0
	pushq $0
	.endif
	PUSH_REGS
	call error_entry
	mov %rax, %rsp				# the frame, now on the thread stack when the fault came from user mode
	mov %rsp, %rdi
	mov ORIG_RAX(%rsp), %rsi
	movq $-1, ORIG_RAX(%rsp)
	mov $\vector, %edx
	call \handler
	jmp error_return
	.size \name, . - \name
	IDT_GATE \vector, \name, \dpl
	.endm

	idtentry X86_TRAP_DE, asm_exc_divide_error, exc_common
	idtentry X86_TRAP_BP, asm_exc_int3, exc_common, dpl=3		# INT3 and INT 3 from user mode: DPL 3
	idtentry X86_TRAP_OF, asm_exc_overflow, exc_common, dpl=3	# INT 4 (INTO is #UD in 64-bit mode)
	idtentry X86_TRAP_BR, asm_exc_bounds, exc_common
	idtentry X86_TRAP_UD, asm_exc_invalid_op, exc_common
	idtentry X86_TRAP_NM, asm_exc_device_not_available, exc_common
	idtentry 9, asm_exc_coproc_segment_overrun, exc_common
	idtentry X86_TRAP_TS, asm_exc_invalid_tss, exc_common
	idtentry X86_TRAP_NP, asm_exc_segment_not_present, exc_common
	idtentry X86_TRAP_SS, asm_exc_stack_segment, exc_common
	idtentry X86_TRAP_GP, asm_exc_general_protection, exc_common
	idtentry X86_TRAP_PF, asm_exc_page_fault, exc_page_fault
	idtentry 15, asm_exc_spurious_interrupt_bug, exc_common
	idtentry X86_TRAP_MF, asm_exc_coprocessor_error, exc_common
	idtentry X86_TRAP_AC, asm_exc_alignment_check, exc_common
	idtentry X86_TRAP_XF, asm_exc_simd_coprocessor_error, exc_common
	idtentry 20, asm_exc_virtualization_exception, exc_common
	idtentry X86_TRAP_CP, asm_exc_control_protection, exc_common
	.irp vector, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	idtentry \vector, asm_exc_reserved_\vector, exc_common
	.endr

# error_entry: called by a stub with pt_regs above the return address. Returns RAX = the pt_regs to run on, with
# the kernel's GS base, the kernel root, and RFLAGS clean (DF and AC clear: the CPU keeps the interrupted code's).
# - From user mode: SWAPGS, the kernel root, and the frame moves to the top of the thread stack (sync_regs), as
#   the entry stack is small and shared by every entry.
# - From kernel mode at native_irq_return_iret: the IRET to user faulted (a bad CS or SS, a non-canonical RIP).
#   The exit had already switched to the user's GS and root and loaded the user's registers, so this is a fault
#   of the user: the IRET frame becomes the fault's hardware frame, and it goes the user's way (bad IRET fixup).
# - From kernel mode at asm_load_gs_index_gs_change: the fault came between that function's two SWAPGS, with the
#   user's GS base live: SWAPGS, then the exception table resumes the function at its fixup.
# - Otherwise from kernel mode: GS, root and stack are already the kernel's.
	.globl error_entry
	.type error_entry, @function
error_entry:
	pushq $X86_EFLAGS_FIXED
	popfq
	testb $3, CS + 8(%rsp)
	jz .Lerror_kernelspace
	swapgs
	SWITCH_TO_KERNEL_CR3 %rax
.Lerror_entry_sync_regs:
	lea 8(%rsp), %rsi
	mov %gs:PER_CPU_TOP_OF_STACK, %rdi
	sub $SIZEOF_PTREGS, %rdi
	mov %rdi, %rax
	mov $(SIZEOF_PTREGS / 8), %ecx
	rep movsq
	ret
.Lerror_kernelspace:
	cmpq $native_irq_return_iret, RIP + 8(%rsp)
	je .Lerror_bad_iret
	cmpq $asm_load_gs_index_gs_change, RIP + 8(%rsp)
	jne 1f
	swapgs
1:	lea 8(%rsp), %rax
	ret
.Lerror_bad_iret:
	swapgs
	SWITCH_TO_KERNEL_CR3 %rax
	# The fault's RSP points at the IRET frame the exit built (the user's RIP, CS, RFLAGS, RSP, SS): it replaces
	# the fault's own frame (the IRET's address in ring 0). Both lie on the trampoline stack, the IRET frame above.
	mov RSP + 8(%rsp), %rsi
	lea RIP + 8(%rsp), %rdi
	mov $5, %ecx
	rep movsq
	jmp .Lerror_entry_sync_regs
	.size error_entry, . - error_entry

# error_return: after the handler, back the way the frame says: to user mode (the IRET exit: SWAPGS, the user
# root, the trampoline stack) or to the kernel.
	.globl error_return
	.type error_return, @function
error_return:
	testb $3, CS(%rsp)
	jnz swapgs_restore_regs_and_return_to_usermode
	.size error_return, . - error_return
	# fall through
	.globl restore_regs_and_return_to_kernel
	.type restore_regs_and_return_to_kernel, @function
restore_regs_and_return_to_kernel:
	POP_REGS
	popq %rdi
	addq $8, %rsp				# the error code
	iretq
	.size restore_regs_and_return_to_kernel, . - restore_regs_and_return_to_kernel

	.section .text.kernel, "ax"

# exc_common(regs, error_code, vector): from user mode, the user's fault (signal.S); from kernel mode, a fixup
# from the exception table, or the end.
	.globl exc_common
exc_common:
	xor %ecx, %ecx				# CR2 only means something for #PF
	jmp 1f
# exc_page_fault: the same, with CR2. Nothing between the fault and here can fault, so CR2 is still this #PF's.
exc_page_fault:
	mov %cr2, %rcx
1:	testb $3, CS(%rdi)
	jnz deliver_user_fault
	call fixup_exception
	jnc 2f
	jmp die
2:	ret

# fixup_exception: RDI = regs of a fault in kernel mode. When the faulting instruction is in the exception table
# (_ASM_EXTABLE), regs->ip = its fixup and CF clear; else CF set. Keeps every register but RAX and flags.
fixup_exception:
	push %rsi
	mov $__ex_table_start, %esi
1:	cmp $__ex_table_end, %esi
	jae 3f
	mov (%rsi), %rax
	cmp %rax, RIP(%rdi)
	je 2f
	add $16, %esi
	jmp 1b
2:	mov 8(%rsi), %rax
	mov %rax, RIP(%rdi)
	pop %rsi
	clc
	ret
3:	pop %rsi
	stc
	ret

# die: RDI = regs, RSI = error code, EDX = vector of an exception the kernel cannot handle. Reports and stops.
die:
	mov %rdi, %rbx
	mov %rsi, %r12				# KPRINT uses RSI
	KPRINT "FATAL kernel exception vector "
	mov %edx, %eax
	call serial_puthex
	KPRINT " error "
	mov %r12, %rax
	call serial_puthex
	KPRINT " at RIP "
	mov RIP(%rbx), %rax
	call serial_puthex
	KPRINT "\n"
	mov $FATAL_EXIT_STATUS, %eax
	jmp machine_exit

# asm_load_gs_index: DI = a selector for GS. In 64-bit mode loading GS also loads the GS base from the descriptor;
# the base that must change is the user's, so the load happens between two SWAPGS. A bad selector faults at
# asm_load_gs_index_gs_change with the user's GS base live (error_entry knows this address); the fixup loads the
# null selector instead.
	.globl asm_load_gs_index
asm_load_gs_index:
	swapgs
asm_load_gs_index_gs_change:
	mov %edi, %gs
1:	swapgs
	ret
asm_load_gs_index_fixup:			# error_entry gave the kernel's GS back: the user's again, for the null load
	swapgs
	xor %eax, %eax
	mov %eax, %gs
	jmp 1b
	_ASM_EXTABLE asm_load_gs_index_gs_change, asm_load_gs_index_fixup
