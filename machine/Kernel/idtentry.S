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

# error_return: after the handler, back the way the frame says: to user mode as an interrupt goes (retint_user: the
# reschedule and exit work due before any return to user mode, then the IRET exit) or to the kernel.
	.globl error_return
	.type error_return, @function
error_return:
	testb $3, CS(%rsp)
	jnz retint_user
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

# paranoid_entry: for the exceptions that arrive on an IST stack at any instruction — also in the entry's first
# instructions before its SWAPGS and CR3 switch, and in the exit's last ones after them — so neither CS nor the
# address says which GS base and root are live. Called with pt_regs above the return address.
# - CR3: saved in R14 as found, the kernel root loaded when it was the user root; paranoid_exit restores R14.
# - GS: MSR_GS_BASE read. The kernel's is negative (__START_KERNEL_map), a user's never is (arch_prctl takes only
#   user addresses), so a non-negative one means SWAPGS now and again on the way out: EBX = 1 then, else 0.
# RFLAGS clean (DF, AC clear) as in error_entry.
	.globl paranoid_entry
	.type paranoid_entry, @function
paranoid_entry:
	pushq $X86_EFLAGS_FIXED
	popfq
	mov %cr3, %r14
	.if KPTI
	bt $PTI_USER_PGTABLE_BIT, %r14
	jnc 1f
	mov percpu + PER_CPU_KERNEL_CR3, %rax	# by address: GS is not known to be the kernel's yet
	mov %rax, %cr3
1:
	.endif
	mov $MSR_GS_BASE, %ecx
	rdmsr
	xor %ebx, %ebx
	test %edx, %edx
	js 2f
	swapgs
	mov $1, %ebx
2:	ret
	.size paranoid_entry, . - paranoid_entry

# paranoid_exit: undo paranoid_entry (EBX, R14: defs.inc's PARANOID_RESTORE_CR3_AND_GS) and IRET to the interrupted
# kernel code. R14 is clobbered before POP_REGS restores the interrupted one.
	.globl paranoid_exit
	.type paranoid_exit, @function
paranoid_exit:
	PARANOID_RESTORE_CR3_AND_GS
	jmp restore_regs_and_return_to_kernel
	.size paranoid_exit, . - paranoid_exit

# asm_exc_debug: #DB on IST_INDEX_DB. From user mode (a single step, a user breakpoint) it is an ordinary user
# fault: error_entry moves the frame to the thread stack. From kernel mode it may be anywhere — after MOV SS or POP SS
# the #DB of a data breakpoint waits one instruction, so a MOV SS; SYSCALL brings it to entry_SYSCALL_64's first
# instruction, with the user's GS and root — hence paranoid_entry. While the handler runs, the TSS's IST pointer
# moves down one EXCEPTION_STKSZ: a #DB nested in the handler (a breakpoint on what it touches) gets the stack below
# instead of overwriting this frame.
	.globl asm_exc_debug
	.type asm_exc_debug, @function
asm_exc_debug:
	pushq $0
	PUSH_REGS
	testb $3, CS(%rsp)
	jnz 1f
	call paranoid_entry
	subq $EXCEPTION_STKSZ, cpu_tss + TSS_IST1 + 8 * (IST_INDEX_DB - 1)
	mov %rsp, %rdi
	mov %ebx, %esi
	call exc_debug_kernel
	addq $EXCEPTION_STKSZ, cpu_tss + TSS_IST1 + 8 * (IST_INDEX_DB - 1)
	jmp paranoid_exit
1:	call error_entry
	mov %rax, %rsp
	mov %rsp, %rdi
	movq $-1, ORIG_RAX(%rsp)
	call exc_debug_user
	jmp error_return
	.size asm_exc_debug, . - asm_exc_debug
	IDT_GATE X86_TRAP_DB, asm_exc_debug, 0, IST_INDEX_DB

# asm_exc_double_fault: #DF on IST_INDEX_DF, whatever the stack was (a fault while delivering a fault, e.g. on a
# bad stack). Nothing to return to: report and stop — unless espfix.S recognises its own IRET.
	.globl asm_exc_double_fault
	.type asm_exc_double_fault, @function
asm_exc_double_fault:
	PUSH_REGS				# the CPU pushed an error code (always 0)
	call paranoid_entry
	mov %rsp, %rdi
	call espfix_double_fault		# an IRET that faulted on the espfix stack: the user's #GP after all
	test %eax, %eax
	jnz paranoid_exit
	mov %rsp, %rdi
	jmp exc_double_fault
	.size asm_exc_double_fault, . - asm_exc_double_fault
	IDT_GATE X86_TRAP_DF, asm_exc_double_fault, 0, IST_INDEX_DF

# asm_exc_machine_check: #MC on IST_INDEX_MCE: it can arrive at any instruction too. The machine has no error
# recovery to offer: report and stop.
	.globl asm_exc_machine_check
	.type asm_exc_machine_check, @function
asm_exc_machine_check:
	pushq $0
	PUSH_REGS
	call paranoid_entry
	mov %rsp, %rdi
	jmp exc_machine_check
	.size asm_exc_machine_check, . - asm_exc_machine_check
	IDT_GATE X86_TRAP_MC, asm_exc_machine_check, 0, IST_INDEX_MCE

	.section .text.kernel, "ax"

# exc_debug_user(regs): a #DB from user mode goes to the user's handler with DR6's meaningful bits as the error code;
# DR6 is reset, as the CPU only ever sets its bits.
exc_debug_user:
	mov %db6, %rsi
	and $DR6_USER_MASK, %esi
	mov $DR6_RESET, %eax
	mov %rax, %db6
	mov $X86_TRAP_DB, %edx
	xor %ecx, %ecx
	jmp deliver_user_fault

# exc_debug_kernel(regs, swapped): a #DB in kernel mode. The kernel sets no breakpoints of its own, so this is the
# user's data breakpoint touched by the kernel or deferred into it (MOV SS), or a single step that followed the
# user into the kernel (SYSENTER keeps TF). Its DR6 bits go to the user's virtual DR6 (get_debugreg(6)); where it
# arrived, on which stack and whether paranoid_entry swapped GS are kept for get_debugreg and the machine's tests.
# A single step inside .entry.text is left alone: the entry (SYSENTER's) steps until it fixes its flags, as Linux's
# SYSENTER region does; anywhere else TF is cleared in the interrupted flags. Keeps RBX and R14 (paranoid_exit's).
# A #DB nested in this handler (depth 2: a breakpoint on the outer level's records) only counts and keeps its frame's
# address, touching nothing the outer level does.
exc_debug_kernel:
	incq %gs:PER_CPU_DEBUG_DEPTH
	cmpq $1, %gs:PER_CPU_DEBUG_DEPTH
	jne 3f
	mov %db6, %rax				# first: a nested #DB resets DR6
	mov $DR6_RESET, %ecx
	mov %rcx, %db6
	and $DR6_USER_MASK, %eax
	or %rax, %gs:PER_CPU_DEBUG_DR6
	test $DR6_B0_B3, %al			# a breakpoint hit in the kernel: RF, so that an instruction breakpoint on the
	jz 4f					# instruction we return to cannot fire again and loop (set_debugreg refuses
	orq $X86_EFLAGS_RF, EFLAGS(%rdi)	# kernel addresses; this is the second line of defence)
4:
	mov RIP(%rdi), %rcx
	mov %rcx, %gs:PER_CPU_DEBUG_KERNEL_RIP
	mov %rdi, %gs:PER_CPU_DEBUG_KERNEL_RSP
	mov %rsi, %gs:PER_CPU_DEBUG_KERNEL_SWAPGS
	test $DR6_BS, %eax
	jz 2f
	cmp $__entry_text_start, %rcx
	jb 1f
	cmp $__entry_data_start, %rcx
	jb 2f
1:	andq $~X86_EFLAGS_TF, EFLAGS(%rdi)
2:	decq %gs:PER_CPU_DEBUG_DEPTH
	ret
3:	incq %gs:PER_CPU_DEBUG_NESTED
	mov %rdi, %gs:PER_CPU_DEBUG_NESTED_RSP
	mov $DR6_RESET, %eax
	mov %rax, %db6
	decq %gs:PER_CPU_DEBUG_DEPTH
	ret

# exc_double_fault(regs), exc_machine_check(regs): report (with the stack, which a double fault is often about) and stop.
exc_double_fault:
	mov %rdi, %rbx
	call report_sysret_gp
	KPRINT "FATAL double fault RSP "
	jmp 1f
exc_machine_check:
	mov %rdi, %rbx
	KPRINT "FATAL machine check RSP "
1:	mov RSP(%rbx), %rax
	call serial_puthex
	jmp fatal_at_rip

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
	# fall through
# fatal_at_rip: RBX = regs. Ends the line of a fatal report with " at RIP R" and stops the machine (0x7f).
	.globl fatal_at_rip
fatal_at_rip:
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

# set_debugreg(n, value), get_debugreg(n): Repl's own, the task's ptrace(POKEUSER/PEEKUSER, u_debugreg[n]) on itself.
# DR0-DR3 take user addresses (a breakpoint never points into the kernel); DR7 only the local enables and the
# RW/LEN fields (no GD, no global enables, no I/O breakpoints); DR6 is the virtual one: the bits of #DBs the kernel took for the user
# (set_debugreg(6, v) sets it and forgets get_debugreg(8): where the last of those arrived, its RIP in the kernel).
	SYSCALL_64 __NR_set_debugreg, sys_set_debugreg
sys_set_debugreg:
	mov RDI(%rdi), %rcx
	mov RSI(%rdi), %rax
	cmp $6, %rcx
	je 6f
	cmp $7, %rcx
	je 7f
	cmp $3, %rcx
	ja 9f
	push %rcx				# the widest watched range (LEN 8) must be user memory: a breakpoint in kernel
	mov %rax, %rsi				# text or the entry data (the user root maps them) would fire in the kernel at
	mov $8, %ecx				# every entry, as Linux refuses kernel space and the CPU entry area
	call access_ok
	pop %rcx
	jc 9f
	jmp *1f(, %rcx, 8)
	.pushsection .rodata, "a"
	.balign 8
1:	.quad 10f, 11f, 12f, 13f
	.popsection
10:	mov %rax, %db0
	jmp 8f
11:	mov %rax, %db1
	jmp 8f
12:	mov %rax, %db2
	jmp 8f
13:	mov %rax, %db3
	jmp 8f
6:	mov %rax, %gs:PER_CPU_DEBUG_DR6
	movq $0, %gs:PER_CPU_DEBUG_KERNEL_RIP
	jmp 8f
7:	mov $DR7_USER_MASK, %edx
	not %rdx
	test %rdx, %rax
	jnz 9f
	mov %rax, %rdx				# RW = 10 (I/O breakpoints, with CR4.DE) is refused, as Linux does
	shr $17, %rdx				# RWn's high bit at bit 4n
	mov %rax, %rsi
	shr $16, %rsi				# its low bit at bit 4n
	not %rsi
	and %rsi, %rdx
	test $DR7_RW_HIGH_BITS, %edx
	jnz 9f
	mov %rax, %db7
8:	xor %eax, %eax
	ret
9:	mov $-EINVAL, %rax
	ret

	SYSCALL_64 __NR_get_debugreg, sys_get_debugreg
sys_get_debugreg:
	mov RDI(%rdi), %rcx
	cmp $8, %rcx
	ja 9f
	jmp *1f(, %rcx, 8)
	.pushsection .rodata, "a"
	.balign 8
1:	.quad 10f, 11f, 12f, 13f, 9f, 9f, 16f, 17f, 18f
	.popsection
10:	mov %db0, %rax
	ret
11:	mov %db1, %rax
	ret
12:	mov %db2, %rax
	ret
13:	mov %db3, %rax
	ret
16:	mov %gs:PER_CPU_DEBUG_DR6, %rax
	ret
17:	mov %db7, %rax
	and $DR7_USER_MASK, %eax		# without the fixed bit 10: what set_debugreg took
	ret
18:	mov %gs:PER_CPU_DEBUG_KERNEL_RIP, %rax
	ret
9:	mov $-EINVAL, %rax
	ret
