# selftest_compat.S: the compat entries as user code sees them — int $0x80 from 64-bit code and from compatibility
# mode, SYSENTER and SYSCALL from compatibility mode (what Linux's x86 selftests check of them).

	.set INT80_MAGIC, 0x1badc0de00000000	# register patterns: int $0x80 must give each back unchanged
	.set INT80_MAGIC32, 0x0badc0de
	.set COMPAT_MAGIC32, 0x600dc0de
	.set COMPAT_ARG6, 0x0a4c0de6

	.section .user.text, "ax"

# u_call32: run the 32-bit function at EDI in compatibility mode (CS = __USER32_CS), on a stack below 4 GiB, and come
# back to 64-bit mode. The function gets the caller's EAX-EBP (but ESP) and may change them; in 64-bit mode again every
# register's upper half is undefined (SDM vol. 1 §3.4.1.1), so the caller reads results from memory or as 32 bits.
u_call32:
	mov %rsp, u_rsp64
	mov $__USER_DS, %r8d			# compatibility mode uses DS and ES: the IRET to user mode left them null
	mov %r8d, %ds
	mov %r8d, %es
	mov $u32_stack_top, %esp
	# A far jump, not a far return: QEMU 7.2 makes the stack reads of a far return (and of IRET) supervisor
	# accesses, which SMAP refuses on a user stack; the SDM has them at CPL 3.
	ljmpl *u32_trampoline_ptr
	.code32
u32_trampoline:
	call *%edi
	ljmp $__USER_CS, $u_back64
	.code64
u_back64:
	mov u_rsp64, %rsp
	ret

# int $0x80 from 64-bit code: the i386 numbers (low 32 bits of RAX only) and arguments (low 32 bits of RBX, RCX,
# RDX), and every register but RAX comes back — R8-R15 as well as the i386 ones (Linux's int 0x80 guarantee).
	SELFTEST test_int80_from_64
test_int80_from_64:
	mov $__NR_compat_getpid, %eax
	int $0x80
	CHECK "int 0x80 from 64-bit code: getpid", %rax, $TASK_PID
	movabs $(0xdead00000000 | __NR_compat_getpid), %rax
	int $0x80
	CHECK "int 0x80: upper 32 bits of the number ignored", %rax, $TASK_PID
	mov $NR_compat_syscalls, %eax
	int $0x80
	CHECK "int 0x80: first past the table is -ENOSYS", %rax, $-ENOSYS
	mov $0xffffffff, %eax			# as an int, -1: the table index is unsigned
	int $0x80
	CHECK "int 0x80: number 0xffffffff is -ENOSYS", %rax, $-ENOSYS
	mov $__NR_compat_write, %eax
	movabs $0xffffffff00000001, %rbx	# fd 1 in the low half
	movabs $0x1234567800000000 + compat_text64, %rcx
	movabs $0xffffffff00000000 + (compat_text64_end - compat_text64), %rdx
	int $0x80
	CHECK "int 0x80: write takes the low 32 bits of EBX, ECX, EDX", %rax, $(compat_text64_end - compat_text64)

	# Every register gets a pattern of its own; afterwards each XORed with its pattern must be 0.
	.set int80_pattern, INT80_MAGIC
	.irp reg, rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15
	movabs $int80_pattern, %\reg
	.set int80_pattern, int80_pattern + 1
	.endr
	mov $__NR_compat_getpid, %eax
	int $0x80
	.set int80_pattern, INT80_MAGIC
	.irp reg, rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15
	movabs $int80_pattern, %rax
	xor %rax, %\reg
	.set int80_pattern, int80_pattern + 1
	.endr
	.irp reg, rcx, rdx, rsi, rdi, rbp
	or %\reg, %rbx
	.endr
	.irp reg, r8, r9, r10, r11, r13, r14, r15
	or %\reg, %r12
	.endr
	CHECK "int 0x80 from 64-bit code keeps RBX, RCX, RDX, RSI, RDI, RBP", %rbx, $0
	CHECK "int 0x80 from 64-bit code keeps R8-R15", %r12, $0
	ret

# int $0x80 from compatibility mode: the IRET exit returns there, with the result in EAX and EBX-EBP unchanged.
	SELFTEST test_int80_compat
test_int80_compat:
	mov $compat_int80, %edi
	call u_call32
	movslq u32_getpid, %rbx
	CHECK "int 0x80 from compatibility mode: getpid", %rbx, $TASK_PID
	movslq u32_write, %rbx
	CHECK "int 0x80 from compatibility mode: write", %rbx, $(compat_text32_end - compat_text32)
	movslq u32_enosys, %rbx
	CHECK "int 0x80 from compatibility mode: -ENOSYS past the table", %rbx, $-ENOSYS
	movzwl u32_cs, %ebx
	CHECK "int 0x80 returns to compatibility mode", %rbx, $__USER32_CS
	mov u32_kept, %ebx
	CHECK "int 0x80 from compatibility mode keeps EBX, ECX, EDX, ESI, EDI, EBP", %rbx, $0
	ret

	.code32
compat_int80:
	mov $__NR_compat_getpid, %eax
	int $0x80
	mov %eax, u32_getpid
	mov %cs, u32_cs
	mov $__NR_compat_write, %eax
	mov $1, %ebx
	mov $compat_text32, %ecx
	mov $(compat_text32_end - compat_text32), %edx
	int $0x80
	mov %eax, u32_write
	mov $NR_compat_syscalls, %eax
	int $0x80
	mov %eax, u32_enosys
	# Each i386 register with its own pattern; XORed with it afterwards, all must be 0.
	.set int80_pattern, INT80_MAGIC32
	.irp reg, ebx, ecx, edx, esi, edi, ebp
	mov $int80_pattern, %\reg
	.set int80_pattern, int80_pattern + 1
	.endr
	mov $__NR_compat_getpid, %eax
	int $0x80
	.set int80_pattern, INT80_MAGIC32
	.irp reg, ebx, ecx, edx, esi, edi, ebp
	xor $int80_pattern, %\reg
	.set int80_pattern, int80_pattern + 1
	.endr
	.irp reg, ecx, edx, esi, edi, ebp
	or %\reg, %ebx
	.endr
	mov %ebx, u32_kept
	ret
	.code64

# compat_fault_handler: the user fault handler of the tests below (rt_sigaction). Logs each fault (vector, error code,
# RIP, RFLAGS, RBP) up to FAULT_LOG entries, then returns in the mode of the faulting code: after a single step (#DB) where
# it arrived, with TF cleared so the stepping ends there; after any other fault at compat_fault_resume.
	.set FAULT_LOG, 4
compat_fault_handler:
	mov compat_fault_count, %rax
	cmp $FAULT_LOG, %rax
	jae 1f
	mov UFRAME_VECTOR(%rdi), %rdx
	mov %rdx, compat_fault_vectors(, %rax, 8)
	mov UFRAME_ERROR_CODE(%rdi), %rdx
	mov %rdx, compat_fault_errors(, %rax, 8)
	mov UFRAME_REGS + RIP(%rdi), %rdx
	mov %rdx, compat_fault_rips(, %rax, 8)
	mov UFRAME_REGS + EFLAGS(%rdi), %rdx
	mov %rdx, compat_fault_flags(, %rax, 8)
	mov UFRAME_REGS + RBP(%rdi), %rdx
	mov %rdx, compat_fault_rbps(, %rax, 8)
1:	incq compat_fault_count
	cmpq $X86_TRAP_DB, UFRAME_VECTOR(%rdi)
	je 2f
	mov compat_fault_resume, %rax
	mov %rax, UFRAME_REGS + RIP(%rdi)
	jmp 3f
2:	andq $~X86_EFLAGS_TF, UFRAME_REGS + EFLAGS(%rdi)
3:	mov $__NR_rt_sigreturn, %eax
	syscall
	ud2					# rt_sigreturn does not return here

# compat_faults_begin: register compat_fault_handler and empty the log. compat_faults_end: the previous handler again.
compat_faults_begin:
	movq $0, compat_fault_count
	mov $__NR_rt_sigaction, %eax
	mov $compat_fault_handler, %edi
	syscall
	mov %rax, compat_previous_handler
	ret
compat_faults_end:
	mov $__NR_rt_sigaction, %eax
	mov compat_previous_handler, %rdi
	syscall
	ret

# u_vendor_intel: ZF set when CPUID says GenuineIntel (the profile, or QEMU's vendor= property).
u_vendor_intel:
	push %rbx
	xor %eax, %eax
	cpuid
	cmp $0x756e6547, %ebx			# "Genu"
	pop %rbx
	ret

# 32-bit code entered by the kernel: rt_sigreturn to a frame with CS = __USER32_CS (the IRET exit then lands in
# compatibility mode), whose code makes a system call there and far-jumps back through u_call32's way home.
	SELFTEST test_sigreturn_to_compat
test_sigreturn_to_compat:
	call 1f
	movslq u32_getpid, %rbx
	CHECK "rt_sigreturn to compatibility mode: int 0x80 getpid there", %rbx, $TASK_PID
	movzwl u32_cs, %ebx
	CHECK "rt_sigreturn to compatibility mode: CS is __USER32_CS", %rbx, $__USER32_CS
	ret
1:	mov %rsp, u_rsp64			# u_back64 returns from here
	movl $0, u32_getpid
	movw $0, u32_cs
	movq $compat_after_sigreturn, u_fault_resume
	movq $u32_stack_top, u_fault_resume_rsp
	call u_frame_prepare
	movq $__USER32_CS, u_frame + UFRAME_REGS + CS
	SIGRETURN
	ud2					# rt_sigreturn does not return here

	.code32
compat_after_sigreturn:
	mov %cs, u32_cs
	mov $__NR_compat_getpid, %eax
	int $0x80
	mov %eax, u32_getpid
	ljmp $__USER_CS, $u_back64
	.code64

# SYSENTER and SYSCALL from compatibility mode. The SDM documents SYSENTER in every mode but SYSCALL only in 64-bit
# mode (#UD in compatibility mode); the APM the opposite: SYSCALL in compatibility mode, SYSENTER #UD in long mode.
# Each check demands the vendor's documented behaviour, except that where a vendor raises #UD it also accepts a
# correct system call: QEMU 7.2 runs both instructions in compatibility mode whatever the vendor, and the transcript
# must be the same there. Which way each went is kept in u32_sysenter_outcome and u32_syscall_outcome (1: entered
# the kernel and returned getpid, 2: #UD at the instruction), which the machine's tests check against the manuals.
	.set OUTCOME_SYSCALL, 1
	.set OUTCOME_UD, 2
	SELFTEST test_compat_fast_syscalls
test_compat_fast_syscalls:
	call compat_faults_begin
	movq $sysenter_landing_pad, compat_fault_resume	# after a #UD, on through __kernel_vsyscall's epilogue
	mov $compat_sysenter_getpid, %edi
	call u_call32
	mov $sysenter_insn, %esi
	mov $u32_sysenter_outcome, %edi
	call u_fast_syscall_outcome
	movq $compat_syscall_after, compat_fault_resume
	mov $compat_syscall_getpid, %edi
	call u_call32
	mov $compat_syscall_insn, %esi
	mov $u32_syscall_outcome, %edi
	call u_fast_syscall_outcome
	call compat_faults_end

	call u_vendor_intel
	jne 1f
	CHECK "SYSENTER from compatibility mode (Intel: a system call)", u32_sysenter_outcome, $OUTCOME_SYSCALL
	cmpq $OUTCOME_SYSCALL, u32_syscall_outcome
	je 2f
	CHECK "SYSCALL from compatibility mode (Intel: #UD)", u32_syscall_outcome, $OUTCOME_UD
	jmp 3f
2:	PASS "SYSCALL from compatibility mode (Intel: #UD)"
3:	mov $compat_sysenter_write, %edi	# the documented one, with arguments: SYSENTER on Intel
	jmp 4f
1:	CHECK "SYSCALL from compatibility mode (AMD: a system call)", u32_syscall_outcome, $OUTCOME_SYSCALL
	cmpq $OUTCOME_SYSCALL, u32_sysenter_outcome
	je 2f
	CHECK "SYSENTER from compatibility mode (AMD: #UD)", u32_sysenter_outcome, $OUTCOME_UD
	jmp 3f
2:	PASS "SYSENTER from compatibility mode (AMD: #UD)"
3:	mov $compat_syscall_write, %edi		# on AMD, SYSCALL
4:	call u_call32
	movslq u32_write, %rbx
	CHECK "compat fast system call: write", %rbx, $(compat_fast_text_end - compat_fast_text)
	mov u32_kept, %ebx
	CHECK "compat fast system call keeps EBX, ESI, EDI", %rbx, $0
	ret

# The GS base the user set is the one it finds after each compat entry (each does SWAPGS in and out), and NT (which
# SYSENTER leaves set and SYSCALL's SFMASK clears) comes back as the user had it (Linux's syscall_nt).
	SELFTEST test_compat_gs_base_and_nt
test_compat_gs_base_and_nt:
	mov $__NR_arch_prctl, %eax		# the GS base the exception checks keep too (selftest_exceptions.S)
	mov $ARCH_SET_GS, %edi
	mov $u_gs_area, %esi
	syscall
	mov $__NR_compat_getpid, %eax
	int $0x80
	CHECK_GS_AFTER "int 0x80 from 64-bit code"
	mov $compat_int80, %edi
	call u_call32
	CHECK_GS_AFTER "int 0x80 from compatibility mode"
	movq $compat_sysenter_getpid, u32_fast_getpid
	call u_vendor_intel
	je 1f
	movq $compat_syscall_getpid, u32_fast_getpid
1:	mov $compat_nt_fast_getpid, %edi
	call u_call32
	CHECK_GS_AFTER "the compat fast system call (Intel: SYSENTER, AMD: SYSCALL)"
	mov u32_flags, %ebx
	and $X86_EFLAGS_NT, %ebx
	CHECK "NT preserved across the compat fast system call", %rbx, $X86_EFLAGS_NT
	movslq u32_getpid, %rbx
	CHECK "the compat fast system call with NT set: getpid", %rbx, $TASK_PID
	ret

# u_fast_syscall_outcome: after one of the compat getpid calls below, RSI = its instruction, RDI = the outcome to
# store: OUTCOME_SYSCALL when it returned getpid without a fault, OUTCOME_UD when it raised #UD there and nothing
# else, 0 otherwise.
u_fast_syscall_outcome:
	movq $0, (%rdi)
	cmpq $1, compat_fault_count
	ja 1f
	je 2f
	cmpl $TASK_PID, u32_getpid
	jne 1f
	movq $OUTCOME_SYSCALL, (%rdi)
	jmp 1f
2:	cmpq $X86_TRAP_UD, compat_fault_vectors
	jne 1f
	cmp %rsi, compat_fault_rips
	jne 1f
	movq $OUTCOME_UD, (%rdi)
1:	movq $0, compat_fault_count
	ret

	.code32
# compat_nt_fast_getpid: the getpid at u32_fast_getpid with NT set; the RFLAGS it returns with go to u32_flags.
compat_nt_fast_getpid:
	pushfl
	orl $X86_EFLAGS_NT, (%esp)
	popfl
	call *u32_fast_getpid
	pushfl
	popl u32_flags
	pushfl
	andl $~X86_EFLAGS_NT, (%esp)
	popfl
	ret
compat_sysenter_getpid:
	movl $0, u32_getpid
	mov $__NR_compat_getpid, %eax
	call __kernel_vsyscall
	mov %eax, u32_getpid
	ret
compat_syscall_getpid:
	movl $0, u32_getpid
	mov $__NR_compat_getpid, %eax
compat_syscall_insn:
	syscall
compat_syscall_after:
	mov %eax, u32_getpid
	ret
# write(1, text, length) through __kernel_vsyscall (SYSENTER), the arguments in EBX, ECX, EDX; EBX, ESI and EDI must
# come back (ECX, EDX and EBP too: the stub restores them).
compat_sysenter_write:
	call compat_write_args
	call __kernel_vsyscall
	jmp 1f
# The same through SYSCALL: ECX is lost to the return address, so the second argument travels in EBP.
compat_syscall_write:
	call compat_write_args
	syscall
1:	mov %eax, u32_write
	xor $1, %ebx
	xor $COMPAT_MAGIC32, %esi
	xor $COMPAT_MAGIC32 + 1, %edi
	or %esi, %ebx
	or %edi, %ebx
	mov %ebx, u32_kept
	ret
# compat_write_args: write(1, compat_fast_text, its length) in EAX, EBX, ECX (and EBP), EDX; patterns in ESI, EDI.
compat_write_args:
	mov $COMPAT_MAGIC32, %esi
	mov $COMPAT_MAGIC32 + 1, %edi
	mov $__NR_compat_write, %eax
	mov $1, %ebx
	mov $compat_fast_text, %ecx
	mov %ecx, %ebp
	mov $(compat_fast_text_end - compat_fast_text), %edx
	ret
	.code64

# Single-stepping over a system call (Linux's single_step_syscall): POPF sets TF, so the instruction after it — the
# system call — is the first one stepped. Neither SYSCALL (SFMASK clears TF) nor INT n (the gate clears it) lets the
# processor report that step; the kernel reports it on the way out: one #DB with DR6.BS at the return address, with
# the user's TF still set in the frame. (The handler then clears TF: stepping ends there.)
	.macro CHECK_STEP what, after
	CHECK "single step over \what: one trap", compat_fault_count, $1
	CHECK "single step over \what: #DB", compat_fault_vectors, $X86_TRAP_DB
	mov compat_fault_errors, %rbx
	and $DR6_BS, %ebx
	CHECK "single step over \what: DR6.BS", %rbx, $DR6_BS
	CHECK "single step over \what: reported after the instruction", compat_fault_rips, \after
	mov compat_fault_flags, %rbx
	and $X86_EFLAGS_TF, %ebx
	CHECK "single step over \what: TF preserved", %rbx, $X86_EFLAGS_TF
	.endm

	SELFTEST test_single_step_syscalls
test_single_step_syscalls:
	call compat_faults_begin
	mov $__NR_getpid, %eax
	pushfq
	orq $X86_EFLAGS_TF, (%rsp)
	popfq
	syscall
1:	mov %rax, %r12
	CHECK_STEP "syscall", $1b
	CHECK "single step over syscall: getpid", %r12, $TASK_PID

	movq $0, compat_fault_count
	mov $__NR_compat_getpid, %eax
	pushfq
	orq $X86_EFLAGS_TF, (%rsp)
	popfq
	int $0x80
1:	mov %rax, %r12
	CHECK_STEP "int 0x80", $1b
	CHECK "single step over int 0x80: getpid", %r12, $TASK_PID

	movq $0, compat_fault_count
	mov $compat_step_int80, %edi
	call u_call32
	CHECK_STEP "int 0x80 in compatibility mode", $compat_step_int80_after
	movslq u32_getpid, %rbx
	CHECK "single step over int 0x80 in compatibility mode: getpid", %rbx, $TASK_PID

	# The vendor's fast system call from compatibility mode. SYSENTER does not clear TF: its step traps at CPL 0
	# on the entry's first instruction, and the #DB handler must let the entry run on to the POPF that clears TF
	# (entry_SYSENTER_compat). The step is reported at the landing pad, where SYSENTER's system calls return.
	movq $0, compat_fault_count
	mov $compat_step_sysenter, %edi
	movq $sysenter_landing_pad, u_step_expected
	call u_vendor_intel
	je 1f
	mov $compat_step_syscall, %edi
	movq $compat_step_syscall_after, u_step_expected
1:	call u_call32
	CHECK_STEP "the compat fast system call (Intel: SYSENTER, AMD: SYSCALL)", u_step_expected
	movslq u32_getpid, %rbx
	CHECK "single step over the compat fast system call: getpid", %rbx, $TASK_PID
	# The frame the step was reported with holds what the exit restores: EBP is the sixth argument, which the
	# entry fetched from the user stack (do_fast_syscall_32).
	CHECK "compat fast system call: EBP's argument read from the user stack", compat_fault_rbps, $COMPAT_ARG6

	call compat_faults_end
	ret

	.code32
compat_step_int80:
	mov $__NR_compat_getpid, %eax
	pushfl
	orl $X86_EFLAGS_TF, (%esp)
	popfl
	int $0x80
compat_step_int80_after:
	mov %eax, u32_getpid
	ret
# SYSENTER as __kernel_vsyscall makes it (the landing pad returns to compat_step_fast_after), with TF set just before.
compat_step_sysenter:
	mov $__NR_compat_getpid, %eax
	push $compat_step_fast_after
	push %ecx
	push %edx
	mov $COMPAT_ARG6, %ebp			# the sixth argument, pushed where SYSENTER's callers keep EBP
	push %ebp
	mov %esp, %ebp
	pushfl
	orl $X86_EFLAGS_TF, (%esp)
	popfl
	sysenter
compat_step_syscall:
	mov $__NR_compat_getpid, %eax
	push $COMPAT_ARG6			# the sixth argument, where SYSCALL's callers keep it
	pushfl
	orl $X86_EFLAGS_TF, (%esp)
	popfl
	syscall
compat_step_syscall_after:
	add $4, %esp
compat_step_fast_after:
	mov %eax, u32_getpid
	ret
	.code64

	.section .user.data, "aw"
	.balign 8
u_rsp64: .quad 0
u32_trampoline_ptr: .long u32_trampoline	# m16:32, for the far jump to compatibility mode
	.word __USER32_CS
compat_text64: .ascii "int 0x80 write from 64-bit code\n"
compat_text64_end:
compat_text32: .ascii "int 0x80 write from compatibility mode\n"
compat_text32_end:
	.balign 8
u32_getpid: .quad 0			# results the 32-bit code stores (32 bits each) for the 64-bit checks
u32_write: .quad 0
u32_enosys: .quad 0
u32_cs: .quad 0
u32_kept: .quad -1
u32_sysenter_outcome: .quad 0
u32_syscall_outcome: .quad 0
compat_fast_text: .ascii "compat fast system call: write from compatibility mode\n"
compat_fast_text_end:
	.balign 8
compat_fault_count: .quad 0
compat_previous_handler: .quad 0
compat_fault_resume: .quad 0
u_step_expected: .quad 0
u32_fast_getpid: .quad 0		# the vendor's compat fast getpid, for compat_nt_fast_getpid
u32_flags: .quad 0
compat_fault_vectors: .skip FAULT_LOG * 8
compat_fault_errors: .skip FAULT_LOG * 8
compat_fault_rips: .skip FAULT_LOG * 8
compat_fault_flags: .skip FAULT_LOG * 8
compat_fault_rbps: .skip FAULT_LOG * 8
	.balign 16
u32_stack: .skip PAGE_SIZE		# fault frames land here too
u32_stack_top:
