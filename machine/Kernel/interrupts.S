# interrupts.S: external interrupts — a stub per vector, common_interrupt, the IRQ stack, the local APIC (its
# timer, the spurious vector, a self-IPI), the two ways back (ret_from_intr: to user with the exit work, to the
# kernel with the preemption check) and pause, which sleeps until an interrupt.
#
# An interrupt gate clears IF and nothing else: the stub runs on whatever the interrupt found. From user mode that
# is the trampoline stack (TSS.RSP0), the user's GS base and, under KPTI, the user root; from kernel mode it is the
# kernel's stack, GS and root, because the kernel enables interrupts only where all three are its own (pause, an
# interrupt handler's own window). That is an exception's situation too, so the entry is error_entry's (idtentry.S),
# as Linux's asm_common_interrupt is. The handlers then run on the per-CPU IRQ stack, entered by the outermost
# interrupt only.

	.section .entry.text, "ax"

# irq_entries_start: one stub per external vector (32-255) except int 0x80's. Each pushes its vector into the
# slot pt_regs calls orig_ax and joins common_interrupt. `pushq imm8` keeps the stub small but sign-extends,
# so vectors from 0x80 up arrive as negative numbers: do_IRQ reads only the low byte.
	.balign 8
irq_entries_start:
	.set vector, FIRST_EXTERNAL_VECTOR
	.rept NR_VECTORS - FIRST_EXTERNAL_VECTOR
	.if vector != IA32_SYSCALL_VECTOR
1:	pushq $(vector - ((vector & 0x80) << 1))
	jmp common_interrupt
	IDT_GATE vector, 1b
	.endif
	.set vector, vector + 1
	.endr

	.globl common_interrupt
	.type common_interrupt, @function
common_interrupt:
	PUSH_REGS
	call error_entry			# from user mode: SWAPGS, the kernel root, the frame moved to the thread stack
	mov %rax, %rsp
	jmp interrupt_body
	.size common_interrupt, . - common_interrupt

	.section .text.kernel, "ax"
# interrupt_body: RSP = the pt_regs frame, on the thread stack (or on the stack a kernel-mode interrupt arrived
# on), GS and CR3 the kernel's, DF clear.
interrupt_body:
	mov %rsp, %rdi				# the frame: do_IRQ's argument, and where to come back to
	# ENTER_IRQ_STACK: the count is -1 outside interrupt handlers, so only the outermost interrupt takes it to
	# 0 and switches; a nested one (a handler that enabled interrupts) is already on the IRQ stack and stays.
	incq %gs:PER_CPU_IRQ_COUNT
	jnz 2f
	mov %gs:PER_CPU_IRQ_STACK_PTR, %rsp
2:	push %rdi
	call do_IRQ
	# LEAVE_IRQ_STACK: back to the frame, then the count; an interrupt in between (none: IF is clear) would
	# otherwise find the count saying "on the IRQ stack" while it is not.
	pop %rsp
	decq %gs:PER_CPU_IRQ_COUNT

	.globl ret_from_intr
ret_from_intr:
	testb $3, CS(%rsp)
	jz retint_kernel
	.globl retint_user
retint_user:
	mov %rsp, %rdi
	call prepare_exit_to_usermode
	jmp swapgs_restore_regs_and_return_to_usermode

retint_kernel:
	# Preemption: a tick asked for a reschedule (PER_CPU_PREEMPT). The interrupted kernel code may be preempted
	# only if it ran with interrupts enabled (else it is atomic) and was not itself an interrupt handler.
	cmpq $0, %gs:PER_CPU_PREEMPT
	je restore_regs_and_return_to_kernel
	testl $X86_EFLAGS_IF, EFLAGS(%rsp)
	jz restore_regs_and_return_to_kernel
	cmpq $-1, %gs:PER_CPU_IRQ_COUNT
	jne restore_regs_and_return_to_kernel
	call preempt_schedule_irq
	jmp restore_regs_and_return_to_kernel	# GS and CR3 stay the kernel's

# prepare_exit_to_usermode: RDI = the frame. The work due before any return to user mode: the reschedule a tick
# asked for, then the exit work (PER_CPU_EXIT_WORK, which may change the frame).
prepare_exit_to_usermode:
	cmpq $0, %gs:PER_CPU_PREEMPT
	je 1f
	movq $0, %gs:PER_CPU_PREEMPT
	incq irq_stats + IRQ_STAT_RESCHED_USER * 8	# schedule(): one task, so it runs on
1:	cmpq $0, %gs:PER_CPU_EXIT_WORK
	je 2f
	call syscall_exit_work
2:	ret

# preempt_schedule_irq: where a kernel with more than one task would switch; this one counts the occasion.
preempt_schedule_irq:
	movq $0, %gs:PER_CPU_PREEMPT
	incq irq_stats + IRQ_STAT_PREEMPT_KERNEL * 8
	ret

# do_IRQ: RDI = the frame; runs on the IRQ stack. The vector is orig_ax's low byte.
do_IRQ:
	movzbl ORIG_RAX(%rdi), %eax
	cmp $LOCAL_TIMER_VECTOR, %eax
	je smp_apic_timer_interrupt
	cmp $IRQ_WORK_VECTOR, %eax
	je smp_irq_work_interrupt
	cmp $SPURIOUS_APIC_VECTOR, %eax
	je smp_spurious_interrupt
	# No handler: count it, and end it at the APIC if the APIC delivered it (a software INT n sets no ISR bit,
	# and an EOI then would end some other interrupt that is in service).
	incq irq_stats + IRQ_STAT_UNEXPECTED * 8
	mov %eax, %ecx
	shr $5, %ecx
	shl $4, %ecx				# the ISR slot of the vector: 16 bytes per 32 vectors
	mov APIC_BASE + APIC_ISR(%rcx), %edx
	bt %eax, %edx				# BT with a register operand takes the bit number modulo 32
	jnc 1f
	movl $0, APIC_BASE + APIC_EOI
1:	ret

# smp_apic_timer_interrupt: RDI = the frame. The tick: EOI first (the next tick may then be requested while this
# one runs), count where it came from, ask for a reschedule. Armed by irq_selftest, one tick also plays the part of
# softirq processing on the way out of an interrupt: it enables interrupts on the IRQ stack and lets a self-IPI nest.
smp_apic_timer_interrupt:
	movl $0, APIC_BASE + APIC_EOI
	mov $IRQ_STAT_TIMER_KERNEL, %eax
	testb $3, CS(%rdi)
	jz 1f
	mov $IRQ_STAT_TIMER_USER, %eax
1:	incq irq_stats(, %rax, 8)
	call on_irq_stack
	je 2f
	incq irq_stats + IRQ_STAT_TIMER_OFF_IRQ_STACK * 8
2:	movq $1, %gs:PER_CPU_PREEMPT		# need_resched: the return path decides where it can be honoured
	cmpq $0, irq_nest_armed
	je 4f
	movq $0, irq_nest_armed
	mov %rsp, irq_nest_outer_rsp
	movl $0, APIC_BASE + APIC_ICR2
	movl $(APIC_DEST_SELF | APIC_DM_FIXED | IRQ_WORK_VECTOR), APIC_BASE + APIC_ICR
	mov irq_stats + IRQ_STAT_NESTED_ON_IRQ_STACK * 8, %rdx
	mov $SPIN_LIMIT, %ecx
	sti					# the IPI arrives here, on top of this handler
3:	cmp irq_stats + IRQ_STAT_NESTED_ON_IRQ_STACK * 8, %rdx
	loope 3b				# also bounded: a missing IPI must not hang the kernel
	cli
4:	ret

# smp_irq_work_interrupt: RDI = the frame. The self-IPI; it counts whether it nested as it should: the IRQ count
# at 1 and the stack the IRQ stack, below the outer handler's (no second switch to the stack's top).
smp_irq_work_interrupt:
	movl $0, APIC_BASE + APIC_EOI
	cmpq $1, %gs:PER_CPU_IRQ_COUNT
	jne 1f
	cmp irq_nest_outer_rsp, %rsp
	jae 1f
	call on_irq_stack
	jne 1f
	incq irq_stats + IRQ_STAT_NESTED_ON_IRQ_STACK * 8
1:	ret

# smp_spurious_interrupt: the APIC delivers its spurious vector when an interrupt it offered went away before
# the processor took it. Nothing is in service for it, so there is no EOI (SDM vol. 3 §11.9).
smp_spurious_interrupt:
	incq irq_stats + IRQ_STAT_SPURIOUS * 8
	ret

# on_irq_stack: ZF set when the caller's stack lies on the IRQ stack. Clobbers RAX and flags.
on_irq_stack:
	lea 8(%rsp), %rax			# the caller's RSP
	cmp $irq_stack_top, %rax
	ja 1f
	cmp $(irq_stack_top - IRQ_STACK_SIZE), %rax
	jb 1f
	cmp %eax, %eax				# inside: ZF
1:	ret

# apic_init: boot.S calls it once the per-CPU area is in place. Maps the APIC window for the kernel (kernel root
# only, uncached, not executable: user code never programs the APIC), then programs the APIC: software-enabled with
# the spurious vector, LINT0 and LINT1 masked (firmware leaves them wired as ExtINT and NMI), errors not signalled,
# the timer masked with its vector until apic_timer starts it, every priority accepted.
	.set APIC_PAGE_FLAGS, _PAGE_PRESENT | _PAGE_RW | _PAGE_PWT | _PAGE_PCD
	.globl apic_init
apic_init:
	mov $(apic_pd + _PAGE_PRESENT + _PAGE_RW), %eax	# the top GiB, beside __START_KERNEL_map's in the same PDPT
	mov %rax, kernel_high_pdpt + ((APIC_BASE >> 30) & 511) * 8
	movabs $(APIC_DEFAULT_PHYS_BASE | APIC_PAGE_FLAGS | _PAGE_PSE | _PAGE_NX), %rax
	mov %rax, apic_pd + ((APIC_BASE >> 21) & 511) * 8

	movl $(APIC_SPIV_APIC_ENABLED | SPURIOUS_APIC_VECTOR), APIC_BASE + APIC_SPIV
	movl $APIC_LVT_MASKED, APIC_BASE + APIC_LVT0
	movl $APIC_LVT_MASKED, APIC_BASE + APIC_LVT1
	movl $APIC_LVT_MASKED, APIC_BASE + APIC_LVTERR
	movl $(APIC_LVT_MASKED | LOCAL_TIMER_VECTOR), APIC_BASE + APIC_LVTT
	movl $APIC_TDR_DIV_1, APIC_BASE + APIC_TDCR
	movl $0, APIC_BASE + APIC_TASKPRI
	ret

# ---- System calls ----

# pause(): sleep until an interrupt, which returns -EINTR (Linux's pause ends only with a signal). STI's shadow
# covers the HLT: an interrupt already pending wakes the HLT instead of slipping in before it and being missed.
	SYSCALL_64 __NR_pause, sys_pause
	SYSCALL_COMPAT __NR_compat_pause, sys_pause
sys_pause:
	sti
	hlt
	cli
	mov $-EINTR, %rax
	ret

# apic_timer(count): Repl's own. A periodic timer interrupt every count bus clocks (divide by 1), or none for 0.
# Counts below APIC_TIMER_MIN are -EINVAL: the handler itself needs more than one period.
	.set APIC_TIMER_MIN, 1000
	SYSCALL_64 __NR_apic_timer, sys_apic_timer
sys_apic_timer:
	mov RDI(%rdi), %rax
	movl $0, APIC_BASE + APIC_TMICT
	movl $(APIC_LVT_MASKED | LOCAL_TIMER_VECTOR), APIC_BASE + APIC_LVTT
	test %rax, %rax
	jz 1f
	cmp $APIC_TIMER_MIN, %rax
	jb 2f
	mov %rax, %rdx
	shr $32, %rdx				# TMICT has 32 bits
	jnz 2f
	movl $(APIC_LVT_TIMER_PERIODIC | LOCAL_TIMER_VECTOR), APIC_BASE + APIC_LVTT
	mov %eax, APIC_BASE + APIC_TMICT
1:	xor %eax, %eax
	ret
2:	mov $-EINVAL, %rax
	ret

# irq_info(index): Repl's own. The statistic IRQ_STAT_<index> (a count since boot), or for IRQ_INFO_IRQ_COUNT the
# IRQ nesting count right now (-1: no handler running).
	SYSCALL_64 __NR_irq_info, sys_irq_info
sys_irq_info:
	mov RDI(%rdi), %rax
	cmp $IRQ_INFO_IRQ_COUNT, %rax
	je 1f
	cmp $IRQ_STATS, %rax
	jae 2f
	mov irq_stats(, %rax, 8), %rax
	ret
1:	mov %gs:PER_CPU_IRQ_COUNT, %rax
	ret
2:	mov $-EINVAL, %rax
	ret

# irq_selftest(scenario): Repl's own. Runs a kernel-side scenario for the self-test (IRQ_SELFTEST_*; the NMI
# ones are in nmi.S) and returns 0, or -EINVAL for an unknown one.
	SYSCALL_64 __NR_irq_selftest, sys_irq_selftest
sys_irq_selftest:
	mov RDI(%rdi), %rax
	cmp $IRQ_SELFTEST_NEST, %rax
	je 1f
	cmp $IRQ_SELFTEST_SPURIOUS, %rax
	je 2f
	cmp $IRQ_SELFTEST_NMI_NESTED, %rax
	je nmi_selftest_nested
	cmp $IRQ_SELFTEST_NMI_STACK_DF_CLEAR, %rax
	je nmi_selftest_stack_df_clear
	cmp $IRQ_SELFTEST_NMI_STACK_DF_SET, %rax
	je nmi_selftest_stack_df_set
	cmp $IRQ_SELFTEST_NMI_USER, %rax
	je nmi_selftest_user
	mov $-EINVAL, %rax
	ret
1:	movq $1, irq_nest_armed			# the next tick lets an IPI nest (smp_apic_timer_interrupt)
	xor %eax, %eax
	ret
2:	int $SPURIOUS_APIC_VECTOR		# the handler, as the APIC would run it, from kernel mode
	xor %eax, %eax
	ret

	# The statistics live in the entry data: nested_nmi counts before it knows which root is loaded.
	.section .entry.data, "aw"
	.balign 8
irq_stats: .skip IRQ_STATS * 8

	.section .data, "aw"
	.balign 8
irq_nest_armed: .quad 0
irq_nest_outer_rsp: .quad 0

	.bss
	.balign PAGE_SIZE
apic_pd: .skip PAGE_SIZE			# the top GiB of the kernel root, for the APIC window

