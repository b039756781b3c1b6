# selftest_exceptions.S: faults as user code sees them — delivery to the registered handler with the right vector,
# error code, CR2 and RIP, rt_sigreturn's full frame load, the IRET faults it can provoke (handled as faults of the
# user), and the GS base through all of it (what Linux's x86 selftests sigreturn, sysret_rip and single_step_syscall
# check of these paths).
#
# u_fault_handler records the frame in u_fault_* and resumes where the test armed it (ARM_FAULT), with the RSP it
# had there, in 64-bit mode, through rt_sigreturn.

	.set U_UNMAPPED, 0x0000100000000000	# PML4 slot 32: mapped in neither root
	.set U_NONCANONICAL, 1 << __VIRTUAL_MASK_SHIFT	# the first address past the lower canonical half
	.set U_KERNEL_HALF, 0xffff800000000000	# canonical, unmapped
	.set U_CANONICAL_EDGE_SYSCALL, U_NONCANONICAL - 2	# a 2-byte SYSCALL here returns to U_NONCANONICAL
	.set U_BAD_SELECTOR, 0xfff3		# GDT index 0x1ffe, past the GDT's limit

# ARM_FAULT resume: the next fault (or rt_sigreturn through u_frame) resumes at resume with the current RSP.
	.macro ARM_FAULT resume
	movq $\resume, u_fault_resume
	mov %rsp, u_fault_resume_rsp
	movq $-1, u_fault_vector
	.endm

# SIGRETURN: rt_sigreturn(u_frame).
	.macro SIGRETURN
	mov $u_frame, %edi
	mov $__NR_rt_sigreturn, %eax
	syscall
	.endm

# SET_DEBUGREG n, value / GET_DEBUGREG n: the system calls; RAX = the result.
	.macro SET_DEBUGREG n, value
	mov $__NR_set_debugreg, %eax
	mov $\n, %edi
	mov \value, %rsi
	syscall
	.endm
	.macro GET_DEBUGREG n
	mov $__NR_get_debugreg, %eax
	mov $\n, %edi
	syscall
	.endm

	.section .user.text, "ax"

# u_fault_handler: RDI = the frame. Records it, then resumes.
u_fault_handler:
	incq u_fault_count
	mov UFRAME_VECTOR(%rdi), %rax
	mov %rax, u_fault_vector
	mov UFRAME_ERROR_CODE(%rdi), %rax
	mov %rax, u_fault_error
	mov UFRAME_CR2(%rdi), %rax
	mov %rax, u_fault_cr2
	mov UFRAME_REGS + RIP(%rdi), %rax
	mov %rax, u_fault_rip
	mov UFRAME_REGS + CS(%rdi), %rax
	mov %rax, u_fault_cs
	mov UFRAME_REGS + RAX(%rdi), %rax
	mov %rax, u_fault_rax
	mov %rsp, %rax				# the handler's own RSP: 8 below the frame
	sub %rdi, %rax
	mov %rax, u_fault_rsp_offset
	mov %rdi, %rbx
	mov $__NR_arch_prctl, %eax		# the GS base the handler runs with (a syscall: no %gs access that could fault)
	mov $ARCH_GET_GS, %edi
	mov $u_fault_gs_base, %esi
	syscall
	mov %rbx, %rdi
	mov u_fault_resume, %rax
	mov %rax, UFRAME_REGS + RIP(%rdi)
	mov u_fault_resume_rsp, %rax
	mov %rax, UFRAME_REGS + RSP(%rdi)
	movq $__USER_CS, UFRAME_REGS + CS(%rdi)
	movq $__USER_DS, UFRAME_REGS + SS(%rdi)
	andq $~X86_EFLAGS_TF, UFRAME_REGS + EFLAGS(%rdi)
	mov $__NR_rt_sigreturn, %eax
	syscall
	ud2

# u_frame_prepare: u_frame for rt_sigreturn to u_fault_resume with RSP u_fault_resume_rsp: every other register 0,
# RCX = RIP and R11 = RFLAGS as SYSCALL leaves them (so only what a test changes can refuse SYSRET), the current GS.
u_frame_prepare:
	mov $u_frame, %edi
	mov $(UFRAME_SIZE / 8), %ecx
	xor %eax, %eax
	rep stosq
	mov u_fault_resume, %rax
	mov %rax, u_frame + UFRAME_REGS + RIP
	mov %rax, u_frame + UFRAME_REGS + RCX
	mov u_fault_resume_rsp, %rax
	mov %rax, u_frame + UFRAME_REGS + RSP
	movq $__USER_CS, u_frame + UFRAME_REGS + CS
	movq $__USER_DS, u_frame + UFRAME_REGS + SS
	movq $USER_INITIAL_RFLAGS, u_frame + UFRAME_REGS + EFLAGS
	movq $USER_INITIAL_RFLAGS, u_frame + UFRAME_REGS + R11
	mov %gs, %eax
	mov %rax, u_frame + UFRAME_GS
	movq $-1, u_fault_vector
	ret

# Registration, and the GS base every later check expects the user to keep.
	SELFTEST test_fault_setup
test_fault_setup:
	mov $__NR_rt_sigaction, %eax
	mov $u_fault_handler, %edi
	syscall
	CHECK "rt_sigaction: no previous handler", %rax, $0
	mov $__NR_rt_sigaction, %eax
	movabs $TASK_SIZE_MAX, %rdi
	syscall
	CHECK "rt_sigaction: TASK_SIZE_MAX is -EFAULT", %rax, $-EFAULT
	mov $__NR_rt_sigaction, %eax
	mov $do_syscall_64, %edi		# the kernel's text, identity-mapped below TASK_SIZE_MAX
	syscall
	CHECK "rt_sigaction: the kernel's do_syscall_64 is -EFAULT", %rax, $-EFAULT
	mov $__NR_rt_sigaction, %eax
	mov $percpu, %edi			# the entry data the user root maps
	syscall
	CHECK "rt_sigaction: the per-CPU area is -EFAULT", %rax, $-EFAULT
	mov $__NR_rt_sigaction, %eax		# the refusals left the handler alone
	mov $u_fault_handler, %edi
	syscall
	CHECK "rt_sigaction: the handler is still the user's", %rax, $u_fault_handler
	mov $__NR_arch_prctl, %eax
	mov $ARCH_SET_GS, %edi
	mov $u_gs_area, %esi
	syscall
	ret

# CHECK_GS path: the GS base is the user's in the handler (u_fault_gs_base) and after the return (%gs:0).
	.macro CHECK_GS path
	CHECK "GS base unchanged in the handler after \path", u_fault_gs_base, $u_gs_area
	CHECK_GS_AFTER "\path"
	.endm
	.macro CHECK_GS_AFTER path
	movabs $SELFTEST_MAGIC, %rax
	mov %gs:0, %rbx
	CHECK "GS base unchanged after \path", %rbx, %rax
	.endm

	SELFTEST test_fault_ud
test_fault_ud:
	ARM_FAULT 1f
2:	ud2
1:	CHECK "#UD: vector 6", u_fault_vector, $X86_TRAP_UD
	CHECK "#UD: RIP is the UD2", u_fault_rip, $2b
	CHECK "#UD: error code 0", u_fault_error, $0
	CHECK "#UD: CS is the user's", u_fault_cs, $__USER_CS
	CHECK "#UD: the handler's RSP is 8 below the frame", u_fault_rsp_offset, $-8
	CHECK_GS "#UD (error_entry from user mode)"
	ret

	SELFTEST test_fault_de
test_fault_de:
	ARM_FAULT 1f
	xor %ecx, %ecx
	mov $1, %eax
	xor %edx, %edx
2:	div %rcx
1:	CHECK "#DE: vector 0, RIP is the DIV", u_fault_rip, $2b
	CHECK "#DE: vector 0", u_fault_vector, $X86_TRAP_DE
	ret

# INT3 and INT 3, INT 4: DPL 3 gates, so user mode reaches them; a trap: RIP is the next instruction.
	SELFTEST test_fault_bp_of
test_fault_bp_of:
	ARM_FAULT 1f
	int3
2:
1:	CHECK "#BP (INT3): vector 3", u_fault_vector, $X86_TRAP_BP
	CHECK "#BP (INT3): RIP after the INT3", u_fault_rip, $2b
	ARM_FAULT 1f
	int $X86_TRAP_BP
2:
1:	CHECK "#BP (INT 3): RIP after the INT 3", u_fault_rip, $2b
	ARM_FAULT 1f
	int $X86_TRAP_OF
2:
1:	CHECK "#OF (INT 4): vector 4", u_fault_vector, $X86_TRAP_OF
	CHECK "#OF (INT 4): RIP after the INT 4", u_fault_rip, $2b
	ret

# INT n through a DPL 0 gate: #GP with the error code n*8+2 (IDT, EXT clear), at the INT.
# INT_DPL0_ERROR_CODE name, n, keep: the SDM's error code for a gate INT n may not use is n*8+2 (the selector format:
# index n, IDT bit). QEMU 7.2 TCG's do_interrupt64 reports n*16+2 (the gate's byte offset): the line accepts that too,
# so the transcript is the same on QEMU, and keeps the value in keep, where the machine's own test
# (ExceptionEntryTests) demands n*8+2.
	.macro INT_DPL0_ERROR_CODE name, n, keep
	mov u_fault_error, %rax
	mov %rax, \keep
	cmp $(\n * 16 + 2), %rax
	jne 3f
	mov $(\n * 8 + 2), %eax
3:	CHECK "\name", %rax, $(\n * 8 + 2)
	.endm
	SELFTEST test_int_dpl0
test_int_dpl0:
	ARM_FAULT 1f
2:	int $X86_TRAP_GP
1:	CHECK "INT 13 through a DPL 0 gate: #GP", u_fault_vector, $X86_TRAP_GP
	CHECK "INT 13 through a DPL 0 gate: RIP is the INT", u_fault_rip, $2b
	INT_DPL0_ERROR_CODE "INT 13 through a DPL 0 gate: error code 13*8+2", X86_TRAP_GP, u_int13_error
	ARM_FAULT 1f
	int $X86_TRAP_DE
1:	CHECK "INT 0 through a DPL 0 gate: error code 0*8+2", u_fault_error, $2
	ARM_FAULT 1f
	int $X86_TRAP_PF
1:	INT_DPL0_ERROR_CODE "INT 14 through a DPL 0 gate: error code 14*8+2", X86_TRAP_PF, u_int14_error
	ret

	SELFTEST test_fault_gp
test_fault_gp:
	ARM_FAULT 1f
2:	hlt					# privileged at CPL 3
1:	CHECK "#GP (HLT at CPL 3): vector 13", u_fault_vector, $X86_TRAP_GP
	CHECK "#GP (HLT at CPL 3): error code 0", u_fault_error, $0
	CHECK "#GP (HLT at CPL 3): RIP is the HLT", u_fault_rip, $2b
	ARM_FAULT 1f
	movabs $U_NONCANONICAL, %rbx
2:	mov (%rbx), %rax
1:	CHECK "#GP (non-canonical load): vector 13", u_fault_vector, $X86_TRAP_GP
	CHECK "#GP (non-canonical load): RIP is the MOV", u_fault_rip, $2b
	ret

# #PF error codes: P (1) the page is present, W (2) a write, U (4) from user mode, I (0x10) an instruction fetch.
	SELFTEST test_fault_pf
test_fault_pf:
	ARM_FAULT 1f
	movabs $U_UNMAPPED, %rbx
2:	mov (%rbx), %rax
1:	CHECK "#PF (read, not mapped): vector 14", u_fault_vector, $X86_TRAP_PF
	CHECK "#PF (read, not mapped): error code U", u_fault_error, $4
	CHECK "#PF (read, not mapped): CR2", u_fault_cr2, %rbx
	CHECK "#PF (read, not mapped): RIP is the MOV", u_fault_rip, $2b
	ARM_FAULT 1f
2:	movb $0, test_fault_pf
1:	CHECK "#PF (write to user text): error code P|W|U", u_fault_error, $7
	CHECK "#PF (write to user text): CR2", u_fault_cr2, $test_fault_pf
	CHECK "#PF (write to user text): RIP is the MOV", u_fault_rip, $2b
	ret

# User mode cannot read the kernel: a supervisor page is a #PF with P set; under KPTI the kernel text is not even in
# the user root (P clear), while the entry's data (GDT, IDT, TSS, per-CPU area) is, supervisor-only.
	SELFTEST test_kernel_unreadable
test_kernel_unreadable:
	ARM_FAULT 1f
2:	mov do_syscall_64, %rax
1:	CHECK "user read of the kernel text: #PF", u_fault_vector, $X86_TRAP_PF
	CHECK "user read of the kernel text: CR2", u_fault_cr2, $do_syscall_64
	.if KPTI
	CHECK "user read of the kernel text: not present in the user root (KPTI) or supervisor-only", u_fault_error, $4
	.else
	CHECK "user read of the kernel text: not present in the user root (KPTI) or supervisor-only", u_fault_error, $5
	.endif
	ARM_FAULT 1f
	mov idt_table, %rax
1:	CHECK "user read of the IDT: #PF, present and supervisor-only", u_fault_error, $5
	ret

# rt_sigreturn loads every register of the frame.
	SELFTEST test_sigreturn_regs
test_sigreturn_regs:
	ARM_FAULT 1f
	call u_frame_prepare
	mov $u_frame + UFRAME_REGS, %edi
	mov $1, %eax				# R15 = 1, R14 = 2, ..., RDI = 15: each register its own value
2:	mov %rax, -8(%rdi, %rax, 8)
	inc %eax
	cmp $(ORIG_RAX / 8), %eax
	jbe 2b
	orq $(X86_EFLAGS_CF | X86_EFLAGS_DF), u_frame + UFRAME_REGS + EFLAGS
	SIGRETURN
	ud2
1:	pushfq
	cld
	mov %r15, u_regs_seen + R15
	mov %r14, u_regs_seen + R14
	mov %r13, u_regs_seen + R13
	mov %r12, u_regs_seen + R12
	mov %rbp, u_regs_seen + RBP
	mov %rbx, u_regs_seen + RBX
	mov %r11, u_regs_seen + R11
	mov %r10, u_regs_seen + R10
	mov %r9, u_regs_seen + R9
	mov %r8, u_regs_seen + R8
	mov %rax, u_regs_seen + RAX
	mov %rcx, u_regs_seen + RCX
	mov %rdx, u_regs_seen + RDX
	mov %rsi, u_regs_seen + RSI
	mov %rdi, u_regs_seen + RDI
	popq u_regs_seen + EFLAGS
	mov $1, %ebx				# the same walk over what arrived
	xor %r12d, %r12d
2:	cmp %rbx, u_regs_seen - 8(, %rbx, 8)
	je 3f
	inc %r12d
3:	inc %ebx
	cmp $(ORIG_RAX / 8), %ebx
	jbe 2b
	CHECK "rt_sigreturn: every general register from the frame", %r12, $0
	mov u_regs_seen + EFLAGS, %rax
	and $(X86_EFLAGS_CF | X86_EFLAGS_DF | X86_EFLAGS_IF), %eax
	CHECK "rt_sigreturn: CF and DF from the frame, IF kept", %rax, $(X86_EFLAGS_CF | X86_EFLAGS_DF | X86_EFLAGS_IF)
	ret

# A frame rt_sigreturn cannot read changes nothing and returns -EFAULT: outside user space (access_ok), or on an
# unmapped user page (the #PF in copy_from_user, resumed by the exception table).
	SELFTEST test_sigreturn_efault
test_sigreturn_efault:
	movabs $U_UNMAPPED, %rdi
	mov $__NR_rt_sigreturn, %eax
	syscall
	CHECK "rt_sigreturn of an unmapped frame: -EFAULT (exception table)", %rax, $-EFAULT
	mov $-4096, %rdi
	mov $__NR_rt_sigreturn, %eax
	syscall
	CHECK "rt_sigreturn of a frame at -4096 (the kernel half): -EFAULT", %rax, $-EFAULT
	mov $do_syscall_64, %edi		# the kernel's text, identity-mapped below TASK_SIZE_MAX
	mov $__NR_rt_sigreturn, %eax
	syscall
	CHECK "rt_sigreturn of a frame on do_syscall_64: -EFAULT", %rax, $-EFAULT
	mov $percpu, %edi			# the per-CPU area: the kernel's CR3 values and stack pointers
	mov $__NR_rt_sigreturn, %eax
	syscall
	CHECK "rt_sigreturn of a frame on the per-CPU area: -EFAULT", %rax, $-EFAULT
	ret

# SYSRET vs IRET for the RIP rt_sigreturn asks for (Linux's sysret_rip). A canonical one may take SYSRET: the fault is
# the user's fetch at that RIP. A non-canonical one must take IRET (SYSRET would #GP in ring 0 on Intel), which
# faults in the kernel; error_entry's bad-IRET path makes it the user's #GP at exactly that RIP.
# SIGRETURN_TO_RIP rip: rt_sigreturn to rip (RCX too, so that only the RIP itself can refuse SYSRET); the fault
# there resumes after the macro.
	.macro SIGRETURN_TO_RIP rip
	ARM_FAULT 1f
	call u_frame_prepare
	movabs $\rip, %rax
	mov %rax, u_frame + UFRAME_REGS + RIP
	mov %rax, u_frame + UFRAME_REGS + RCX
	SIGRETURN
	ud2
1:
	.endm
	.macro SIGRETURN_TO_CANONICAL name, rip
	SIGRETURN_TO_RIP \rip
	CHECK "sigreturn to the canonical \name: #PF", u_fault_vector, $X86_TRAP_PF
	CHECK "sigreturn to the canonical \name: a user fetch", u_fault_error, $0x14
	movabs $\rip, %rax
	CHECK "sigreturn to the canonical \name: reported at that RIP", u_fault_rip, %rax
	.endm
	SELFTEST test_sigreturn_rip
test_sigreturn_rip:
	SIGRETURN_TO_RIP U_NONCANONICAL
	CHECK "sigreturn to a non-canonical RIP: #GP", u_fault_vector, $X86_TRAP_GP
	CHECK "sigreturn to a non-canonical RIP: error code 0", u_fault_error, $0
	movabs $U_NONCANONICAL, %rax
	CHECK "sigreturn to a non-canonical RIP: reported at that RIP", u_fault_rip, %rax
	CHECK_GS "a faulting IRET to user mode"
	SIGRETURN_TO_CANONICAL "0x100000000000 (unmapped)", U_UNMAPPED
	SIGRETURN_TO_CANONICAL "0xffff800000000000 (kernel half)", U_KERNEL_HALF
	ret

# A SYSCALL in the last two bytes below the canonical boundary returns to a non-canonical RIP: the kernel takes IRET
# and the user gets its #GP there, with the system call done (Linux's test_syscall_fallthrough_to).
	.macro CANONICAL_EDGE_CHECKS edge, return	# the lines name the addresses (4-level or 5-level paging)
	CHECK "SYSCALL at \edge: #GP", u_fault_vector, $X86_TRAP_GP
	movabs $U_NONCANONICAL, %rax
	CHECK "SYSCALL at \edge: at the return RIP \return", u_fault_rip, %rax
	CHECK "SYSCALL at \edge: the system call ran", u_fault_rax, $TASK_PID
	.endm
	SELFTEST test_syscall_canonical_edge
test_syscall_canonical_edge:
	movabs $U_CANONICAL_EDGE_SYSCALL, %rbx
	movw $0x050f, (%rbx)			# syscall
	ARM_FAULT 1f
	mov $__NR_getpid, %eax
	call *%rbx
	ud2
1:	.if LA57
	CANONICAL_EDGE_CHECKS 0xfffffffffffffe, 0x100000000000000
	.else
	CANONICAL_EDGE_CHECKS 0x7ffffffffffe, 0x800000000000
	.endif
	ret

# rt_sigreturn takes any CS and SS, but at RPL 3: the kernel's CS becomes 0x13, which IRET refuses (#GP with the
# selector); the compat CS runs 32-bit code.
	SELFTEST test_sigreturn_selectors
test_sigreturn_selectors:
	ARM_FAULT 1f
	call u_frame_prepare
	movq $__KERNEL_CS, u_frame + UFRAME_REGS + CS
	SIGRETURN
	ud2
1:	CHECK "sigreturn with the kernel CS: #GP", u_fault_vector, $X86_TRAP_GP
	CHECK "sigreturn with the kernel CS: error code the selector", u_fault_error, $__KERNEL_CS
	CHECK "sigreturn with the kernel CS: the frame shows it at RPL 3", u_fault_cs, $(__KERNEL_CS | 3)
	ARM_FAULT 1f
	call u_frame_prepare
	movq $__USER_CS, u_frame + UFRAME_REGS + SS	# a code segment as the stack
	SIGRETURN
	ud2
1:	CHECK "sigreturn with a code segment as SS: #GP with the selector", u_fault_error, $(__USER_CS & ~3)
	ARM_FAULT 1f
	call u_frame_prepare
	movq $__USER32_CS, u_frame + UFRAME_REGS + CS
	movq $u_compat_ud2, u_frame + UFRAME_REGS + RIP
	# A stack 32-bit code can address: after an IRET to a 32-bit SS, QEMU keeps only ESP (RSP's upper half zero),
	# so the 64-bit stack would give the fault frame no room there.
	movq $u_compat_stack_top, u_frame + UFRAME_REGS + RSP
	SIGRETURN
	ud2
1:	CHECK "sigreturn to the compat CS: #UD in 32-bit code", u_fault_vector, $X86_TRAP_UD
	CHECK "sigreturn to the compat CS: CS 0x23", u_fault_cs, $__USER32_CS
	CHECK "sigreturn to the compat CS: at its RIP", u_fault_rip, $u_compat_ud2
	ret

# The frame's GS selector: a different one is loaded by the kernel (between two SWAPGS); a bad one faults there,
# which error_entry recognises, and the kernel loads the null selector instead.
	SELFTEST test_sigreturn_gs
test_sigreturn_gs:
	ARM_FAULT 1f
	call u_frame_prepare
	movq $__USER_DS, u_frame + UFRAME_GS
	SIGRETURN
	ud2
1:	mov %gs, %eax
	CHECK "sigreturn loads the frame's GS selector", %rax, $__USER_DS
	ARM_FAULT 1f
	call u_frame_prepare
	movq $U_BAD_SELECTOR, u_frame + UFRAME_GS
	SIGRETURN
	ud2
1:	mov %gs, %eax
	CHECK "sigreturn with a bad GS selector: the kernel loads null instead", %rax, $0
	mov $__NR_getpid, %eax
	syscall
	CHECK "sigreturn with a bad GS selector: the kernel lives on", %rax, $TASK_PID
	mov $__NR_arch_prctl, %eax		# a null load leaves the base as the vendor does: set it again
	mov $ARCH_SET_GS, %edi
	mov $u_gs_area, %esi
	syscall
	ret

# #DB from user mode: a single step (TF) and a data breakpoint, delivered with DR6's bits as the error code; both
# arrive on the IST stack and go the user's way (error_entry).
	.set U_DR7_DR0_RW_2, 1 | (3 << 16) | (1 << 18)	# L0; RW0 = 11 (read or write); LEN0 = 01 (2 bytes)
	SELFTEST test_db_user
test_db_user:
	ARM_FAULT 1f
	pushfq
	orq $X86_EFLAGS_TF, (%rsp)
	popfq
	nop					# the first instruction that starts with TF set: the trap follows it
2:	nop
1:	CHECK "#DB single step in user mode: vector 1", u_fault_vector, $X86_TRAP_DB
	CHECK "#DB single step in user mode: DR6.BS", u_fault_error, $DR6_BS
	CHECK "#DB single step in user mode: RIP after the stepped instruction", u_fault_rip, $2b
	CHECK_GS "#DB from user mode (IST, then error_entry)"
	SET_DEBUGREG 0, $u_ss_selector
	CHECK "set_debugreg(0, a user address)", %rax, $0
	SET_DEBUGREG 7, $U_DR7_DR0_RW_2
	CHECK "set_debugreg(7, L0 RW0 LEN0)", %rax, $0
	ARM_FAULT 1f
	mov u_ss_selector, %ax
2:
1:	CHECK "#DB data breakpoint in user mode: DR6.B0", u_fault_error, $DR6_B0
	CHECK "#DB data breakpoint in user mode: RIP after the access", u_fault_rip, $2b
	# The kernel reading a watched user buffer (write): a #DB in kernel mode with the kernel's GS base, which
	# paranoid_entry must leave alone; the hit goes to the virtual DR6, the system call completes.
	SET_DEBUGREG 0, $u_watched_text
	SET_DEBUGREG 6, $0
	mov $__NR_write, %eax
	mov $1, %edi
	mov $u_watched_text, %esi
	mov $(u_watched_text_end - u_watched_text), %edx
	syscall
	CHECK "write of a watched buffer: returns the count", %rax, $(u_watched_text_end - u_watched_text)
	GET_DEBUGREG 6
	CHECK "write of a watched buffer: the kernel's #DB goes to the virtual DR6", %rax, $DR6_B0
	CHECK_GS_AFTER "a #DB in the kernel with the kernel's GS base"
	SET_DEBUGREG 0, $-1
	CHECK "set_debugreg(0, -1) is -EINVAL", %rax, $-EINVAL
	SET_DEBUGREG 0, $do_syscall_64		# every SYSCALL would stop there, in the kernel
	CHECK "set_debugreg(0, the kernel's do_syscall_64) is -EINVAL", %rax, $-EINVAL
	SET_DEBUGREG 0, $percpu			# the entry data the user root maps
	CHECK "set_debugreg(0, the per-CPU area) is -EINVAL", %rax, $-EINVAL
	SET_DEBUGREG 0, $(__bss_start - 4)	# a LEN 8 range that ends in the kernel's memory
	CHECK "set_debugreg(0, a range across the end of the user data) is -EINVAL", %rax, $-EINVAL
	SET_DEBUGREG 7, $(1 << 1)		# G0
	CHECK "set_debugreg(7, a global enable) is -EINVAL", %rax, $-EINVAL
	SET_DEBUGREG 7, $(1 | (2 << 16))	# L0, RW0 = 10: an I/O breakpoint
	CHECK "set_debugreg(7, an I/O breakpoint) is -EINVAL", %rax, $-EINVAL
	ret

# A data breakpoint on the operand of MOV SS: the #DB waits until the next instruction completes (SDM vol. 3 §7.8.3,
# vol. 2 "MOV": MOV SS inhibits debug exceptions until the following instruction boundary), so with a SYSCALL, INT3
# or INT 0x80 there it arrives at that entry's first instruction, in ring 0 with the user's GS base and root
# (CVE-2018-8897). It must come on the IST stack, paranoid_entry must find the user's GS base and SWAPGS, and the
# entry must carry on as if nothing happened; the kernel reports the hit in the virtual DR6. Where it arrived is
# kept in \keep for the machine's own test (ExceptionEntryTests: entry_SYSCALL_64 and so on, with SWAPGS).
# QEMU 7.2 TCG does not hold the #DB back: it delivers it in user mode before the SYSCALL (INT3, INT 0x80) runs.
# The lines hold on both: the #DB is taken exactly once, in the kernel or in user mode — and then the instruction
# it preempted runs again, without MOV SS — and the instruction's own effect and the GS base are checked after.
	.macro MOVSS_THEN name, keep, nr, insn:vararg
	SET_DEBUGREG 6, $0
	ARM_FAULT 1f
	mov $\nr, %eax
	mov u_ss_selector, %ss
	\insn
1:	mov %rax, u_movss_rax
	xor %r12d, %r12d			# the #DBs seen
	cmpq $X86_TRAP_DB, u_fault_vector
	jne 2f
	inc %r12d				# in user mode, before \insn (QEMU): run it now
	ARM_FAULT 3f
	mov $\nr, %eax
	\insn
3:	mov %rax, u_movss_rax
2:	GET_DEBUGREG 8
	mov %rax, \keep
	GET_DEBUGREG 6
	and $DR6_B0, %eax
	add %rax, %r12
	CHECK "MOV SS; \name: the data breakpoint's #DB is taken once", %r12, $1
	CHECK_GS_AFTER "MOV SS; \name"
	.endm
	SELFTEST test_movss_db
test_movss_db:
	SET_DEBUGREG 0, $u_ss_selector
	SET_DEBUGREG 7, $U_DR7_DR0_RW_2
	MOVSS_THEN "SYSCALL", u_movss_rip_syscall, __NR_getpid, syscall
	CHECK "MOV SS; SYSCALL: the system call ran", u_movss_rax, $TASK_PID
	MOVSS_THEN "INT3", u_movss_rip_int3, __NR_getpid, int3
	CHECK "MOV SS; INT3: #BP delivered", u_fault_vector, $X86_TRAP_BP
	MOVSS_THEN "INT 0x80", u_movss_rip_int80, __NR_compat_getpid, int $IA32_SYSCALL_VECTOR
	SET_DEBUGREG 7, $0
	ret

	.code32
u_compat_ud2:
	ud2
	.code64

	.section .user.data, "aw"
	.balign 16
u_frame: .skip UFRAME_SIZE
u_regs_seen: .skip SIZEOF_PTREGS
u_gs_area: .quad SELFTEST_MAGIC
u_fault_count: .quad 0
u_fault_vector: .quad 0
u_fault_error: .quad 0
u_fault_cr2: .quad 0
u_fault_rip: .quad 0
u_fault_cs: .quad 0
u_fault_rax: .quad 0
u_fault_rsp_offset: .quad 0
u_fault_gs_base: .quad 0
u_fault_resume: .quad 0
u_fault_resume_rsp: .quad 0
u_int13_error: .quad 0
u_int14_error: .quad 0
u_movss_rax: .quad 0
u_movss_rip_syscall: .quad 0
u_movss_rip_int3: .quad 0
u_movss_rip_int80: .quad 0
u_ss_selector: .word __USER_DS
u_watched_text: .ascii "the kernel reads this watched line\n"
u_watched_text_end:
	.balign 16
	.skip 1024
u_compat_stack_top:
