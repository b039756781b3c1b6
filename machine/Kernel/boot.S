# boot.S: from the multiboot hand-over to the first user instruction. 32-bit protected mode with paging off
# (EAX = 0x2BADB002), as QEMU's -kernel and `repl boot` hand over: load our GDT, build both page-table roots,
# enter long mode (SDM vol. 3 §10.8.5: CR4.PAE, CR3, EFER.LME, CR0.PG, far jump), then in 64-bit code the IDT,
# the TSS, the per-CPU area, the system-call MSRs and CR4's protections, and IRET to the self-test.

	.set MULTIBOOT_HEADER_MAGIC, 0x1badb002
	.set MULTIBOOT_AOUT_KLUDGE, 1 << 16	# the header's address fields say where to load: QEMU takes an ELF64 no other way
	.set MULTIBOOT_FLAGS, MULTIBOOT_AOUT_KLUDGE
	.set USER_STACK_PTE, (511 - USER_STACK_PAGES) * 8	# the stack's first entry in high_pt
	.set FATAL_EXIT_STATUS, 0x7f		# what the placeholder handlers exit with (QEMU's status 255)

	.text
	.code32
	.balign 4
multiboot_header:
	.long MULTIBOOT_HEADER_MAGIC
	.long MULTIBOOT_FLAGS
	.long -(MULTIBOOT_HEADER_MAGIC + MULTIBOOT_FLAGS)
	.long multiboot_header			# header_addr: where this header lands
	.long __text_start			# load_addr: the file from the image's first byte ...
	.long __load_end			# load_end_addr: ... up to the end of the last section with bytes
	.long __bss_end				# bss_end_addr: then zeroes up to here (stacks, page tables)
	.long _start				# entry_addr

	.globl _start
	.type _start, @function
_start:
	cli
	cld
	mov $thread_stack_top, %esp
	lgdt gdt_descr				# the 32-bit LGDT reads the limit and the low 4 bytes of the base
	ljmp $__KERNEL32_CS, $1f
1:	mov $__KERNEL_DS, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	# No 8259 interrupts: the BIOS left the PIT's IRQ 0 unmasked on vector 8, which would look like a #DF.
	mov $0xff, %al
	out %al, $PIC2_DATA
	out %al, $PIC1_DATA

	call build_page_tables

	mov %cr4, %eax
	or $X86_CR4_PAE, %eax
	.if LA57
	call check_la57
	or $X86_CR4_LA57, %eax			# before paging: CR4.LA57 cannot change in long mode
	.endif
	mov %eax, %cr4
	mov $kernel_pgd, %eax
	mov %eax, %cr3
	mov $MSR_EFER, %ecx
	rdmsr
	or $(EFER_LME | EFER_NXE | EFER_SCE), %eax	# NXE before paging: the tables already use bit 63
	wrmsr
	mov %cr0, %eax
	or $(X86_CR0_PG | X86_CR0_WP), %eax	# WP: the kernel's own writes honour read-only pages too
	mov %eax, %cr0
	ljmp $__KERNEL_CS, $startup_64

# MAP_RANGE table, start, end, low, high: 4 KiB entries in the first 2 MiB's page table for [start, end), identity,
# with the flags' low and high dwords.
	.macro MAP_RANGE table, start, end, low, high
	mov $\table, %ebx
	mov $\start, %esi
	mov $\end, %edi
	mov $(\low), %eax
	mov $(\high), %edx
	call map_range
	.endm

# build_page_tables: the two roots. The kernel root maps the first GiB identity (the image in 4 KiB pages, each
# region with its rights; the rest in 2 MiB pages, kernel-only and not executable) and the user stack high up.
# The user root maps only what user mode and the entry's first and last instructions need: the entry text and
# data, the user pages, and the same user stack. The pair is one 8 KiB-aligned block: user = kernel | 4 KiB.
build_page_tables:
	movl $(kernel_pdpt0 + _PAGE_TABLE), kernel_pml4
	movl $(kernel_pd0 + _PAGE_TABLE), kernel_pdpt0
	movl $(kernel_pt0 + _PAGE_TABLE), kernel_pd0
	mov $1, %ecx
1:	mov %ecx, %eax
	shl $21, %eax
	or $(_PAGE_PRESENT | _PAGE_RW | _PAGE_PSE), %eax
	mov %eax, kernel_pd0(, %ecx, 8)
	movl $_PAGE_NX_HIGH, kernel_pd0 + 4(, %ecx, 8)
	inc %ecx
	cmp $512, %ecx
	jb 1b
	# Page 0 stays unmapped, so a null pointer faults.
	MAP_RANGE kernel_pt0, PAGE_SIZE, KERNEL_PHYS, _PAGE_PRESENT|_PAGE_RW, _PAGE_NX_HIGH
	MAP_RANGE kernel_pt0, __text_start, __entry_text_start, _PAGE_PRESENT, 0
	MAP_RANGE kernel_pt0, __entry_text_start, __entry_data_start, _PAGE_PRESENT, 0
	MAP_RANGE kernel_pt0, __entry_data_start, __kernel_text_start, _PAGE_PRESENT|_PAGE_RW, _PAGE_NX_HIGH
	MAP_RANGE kernel_pt0, __kernel_text_start, __rodata_start, _PAGE_PRESENT, 0
	MAP_RANGE kernel_pt0, __rodata_start, __data_start, _PAGE_PRESENT, _PAGE_NX_HIGH
	MAP_RANGE kernel_pt0, __data_start, __user_text_start, _PAGE_PRESENT|_PAGE_RW, _PAGE_NX_HIGH
	MAP_RANGE kernel_pt0, __user_text_start, __user_data_start, _PAGE_PRESENT|_PAGE_USER, 0
	MAP_RANGE kernel_pt0, __user_data_start, __bss_start, _PAGE_PRESENT|_PAGE_RW|_PAGE_USER, _PAGE_NX_HIGH
	MAP_RANGE kernel_pt0, __bss_start, 0x200000, _PAGE_PRESENT|_PAGE_RW, _PAGE_NX_HIGH

	# The user stack and the boundary page: the last pages below the canonical boundary (PML4 slot 255).
	movl $(high_pdpt + _PAGE_TABLE), kernel_pml4 + 255 * 8
	movl $(high_pd + _PAGE_TABLE), high_pdpt + 511 * 8
	movl $(high_pt + _PAGE_TABLE), high_pd + 511 * 8
	xor %ecx, %ecx
2:	mov %ecx, %eax
	shl $12, %eax
	add $(user_stack + _PAGE_PRESENT + _PAGE_RW + _PAGE_USER), %eax
	mov %eax, high_pt + USER_STACK_PTE(, %ecx, 8)
	movl $_PAGE_NX_HIGH, high_pt + USER_STACK_PTE + 4(, %ecx, 8)
	inc %ecx
	cmp $USER_STACK_PAGES, %ecx
	jb 2b
	movl $(user_boundary_page + _PAGE_PRESENT + _PAGE_RW + _PAGE_USER), high_pt + 511 * 8

	# The first GiB again at __START_KERNEL_map, supervisor-only from the top level down: the per-CPU area's GS base
	# lies there, negative, as paranoid_entry's test of MSR_GS_BASE needs.
	movl $(kernel_high_pdpt + _PAGE_PRESENT + _PAGE_RW), kernel_p4d_high + 511 * 8
	movl $(kernel_pd0 + _PAGE_TABLE), kernel_high_pdpt + 510 * 8

	.if KPTI
	movl $(user_high_pdpt + _PAGE_PRESENT + _PAGE_RW), user_p4d_high + 511 * 8
	movl $(user_pd0 + _PAGE_TABLE), user_high_pdpt + 510 * 8
	movl $(user_pdpt0 + _PAGE_TABLE), user_pml4
	movl $(high_pdpt + _PAGE_TABLE), user_pml4 + 255 * 8
	movl $(user_pd0 + _PAGE_TABLE), user_pdpt0
	movl $(user_pt0 + _PAGE_TABLE), user_pd0
	MAP_RANGE user_pt0, __entry_text_start, __entry_data_start, _PAGE_PRESENT, 0
	MAP_RANGE user_pt0, __entry_data_start, __kernel_text_start, _PAGE_PRESENT|_PAGE_RW, _PAGE_NX_HIGH
	MAP_RANGE user_pt0, __user_text_start, __user_data_start, _PAGE_PRESENT|_PAGE_USER, 0
	MAP_RANGE user_pt0, __user_data_start, __bss_start, _PAGE_PRESENT|_PAGE_RW|_PAGE_USER, _PAGE_NX_HIGH
	.endif

	# 5-level paging: the PML5 roots hold the lower half's PML4 in slot 0 and the kernel half's in slot 511, and slot 255
	# leads to the stack's PDPT again, so the boundary page also lies below the 57-bit canonical boundary.
	.if LA57
	movl $(kernel_pml4 + _PAGE_TABLE), kernel_pml5
	movl $(kernel_p4d_high + _PAGE_PRESENT + _PAGE_RW), kernel_pml5 + 511 * 8
	movl $(la57_edge_p4d + _PAGE_TABLE), kernel_pml5 + 255 * 8
	movl $(high_pdpt + _PAGE_TABLE), la57_edge_p4d + 511 * 8
	.if KPTI
	movl $(user_pml4 + _PAGE_TABLE), user_pml5
	movl $(user_p4d_high + _PAGE_PRESENT + _PAGE_RW), user_pml5 + 511 * 8
	movl $(la57_edge_p4d + _PAGE_TABLE), user_pml5 + 255 * 8
	.endif
	.endif
	ret

	.if LA57
# check_la57: LA57=1 needs CPUID.(EAX=7,ECX=0):ECX.LA57; without it, say so on COM1 and stop (still in 32-bit code,
# before paging). Keeps EAX.
check_la57:
	push %eax
	xor %eax, %eax
	cpuid
	cmp $7, %eax
	jb 1f
	mov $7, %eax
	xor %ecx, %ecx
	cpuid
	bt $CPUID7_ECX_LA57, %ecx
	jnc 1f
	pop %eax
	ret
1:	mov $no_la57_message, %esi
2:	mov $(COM1 + UART_LSR), %dx
3:	in %dx, %al
	test $UART_LSR_THRE, %al
	jz 3b
	lodsb
	test %al, %al
	jz 4f
	mov $COM1, %dx
	out %al, %dx
	jmp 2b
4:	mov $FATAL_EXIT_STATUS, %eax
	mov $DEBUG_EXIT_PORT, %dx
	out %eax, %dx
5:	hlt
	jmp 5b
no_la57_message: .asciz "FATAL LA57=1 but CPUID has no 5-level paging\n"
	.endif

# map_range: EBX = page table, [ESI, EDI) the range (below 2 MiB), EAX:EDX = the entry's flags. Both ends are
# rounded up to a page: a region that starts inside a page (an empty section's label) leaves it to the one before.
map_range:
	add $(PAGE_SIZE - 1), %esi
	and $~(PAGE_SIZE - 1), %esi
	add $(PAGE_SIZE - 1), %edi
	and $~(PAGE_SIZE - 1), %edi
1:	cmp %edi, %esi
	jae 2f
	mov %esi, %ecx
	shr $12, %ecx
	mov %esi, %ebp
	or %eax, %ebp
	mov %ebp, (%ebx, %ecx, 8)
	mov %edx, 4(%ebx, %ecx, 8)
	add $PAGE_SIZE, %esi
	jmp 1b
2:	ret

	.code64
startup_64:
	mov $__KERNEL_DS, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	xor %eax, %eax
	mov %eax, %fs				# null selectors: 64-bit code uses only the bases
	mov %eax, %gs
	mov $thread_stack_top, %rsp

	call build_idt
	lidt idt_descr
	mov $sys_call_table, %edi
	mov $NR_syscalls, %ecx
	mov $__syscalls_64_start, %esi
	mov $__syscalls_64_end, %edx
	call build_syscall_table
	mov $ia32_sys_call_table, %edi
	mov $NR_compat_syscalls, %ecx
	mov $__syscalls_compat_start, %esi
	mov $__syscalls_compat_end, %edx
	call build_syscall_table
	call cpu_init
	call syscall_init
	.if ILLUMOS
	call illumos_syscall_init
	.endif
	call cr4_init
	call apic_init
	call ldt_init
	call init_espfix_bsp

	# Into user mode through the same exit the system calls take: a pt_regs frame for the self-test's first
	# instruction, every register zero, on the thread stack.
	mov %gs:PER_CPU_TOP_OF_STACK, %rsp
	pushq $__USER_DS
	movabs $USER_STACK_TOP, %rax
	pushq %rax
	pushq $USER_INITIAL_RFLAGS
	pushq $__USER_CS
	pushq $selftest_main
	pushq $-1				# orig_ax: not a system call
	xor %eax, %eax
	PUSH_REGS
	jmp swapgs_restore_regs_and_return_to_usermode

# build_idt: every gate the IDT_GATE list names, in order (a later gate for a vector replaces an earlier one).
build_idt:
	mov $__idt_list_start, %esi
1:	cmp $__idt_list_end, %esi
	jae 2f
	mov (%rsi), %rax			# the handler
	movzbl 8(%rsi), %edi			# the vector
	shl $4, %edi
	add $idt_table, %edi
	mov %ax, (%rdi)				# offset 15:0
	movw $__KERNEL_CS, 2(%rdi)
	movzbl 10(%rsi), %ecx
	mov %cl, 4(%rdi)			# IST index
	movzbl 9(%rsi), %ecx
	mov %cl, 5(%rdi)			# type and DPL
	shr $16, %rax
	mov %ax, 6(%rdi)			# offset 31:16
	shr $16, %rax
	mov %eax, 8(%rdi)			# offset 63:32
	movl $0, 12(%rdi)
	add $16, %esi
	jmp 1b
2:	ret

# build_syscall_table: RDI = table of RCX entries, all sys_ni_syscall, then the (number, handler) pairs from RSI
# to RDX in order (SYSCALL_64 checks the numbers at assembly time).
build_syscall_table:
	push %rdi
	mov $sys_ni_syscall, %eax
	rep stosq
	pop %rdi
1:	cmp %rdx, %rsi
	jae 2f
	mov (%rsi), %rcx
	mov 8(%rsi), %rax
	mov %rax, (%rdi, %rcx, 8)
	add $16, %rsi
	jmp 1b
2:	ret

# cpu_init: the TSS (its descriptor's base, RSP0 = the trampoline stack, the IST stacks) and the per-CPU area;
# GS_BASE = the per-CPU area (its alias at __START_KERNEL_map) now, in the kernel; KERNEL_GS_BASE = 0, the user's GS base, until the first SWAPGS.
cpu_init:
	mov $cpu_tss, %eax
	mov %ax, gdt + GDT_TSS_SELECTOR + 2	# base 15:0 (the base is below 4 GiB: bits 63:32 stay 0)
	shr $16, %eax
	mov %al, gdt + GDT_TSS_SELECTOR + 4	# base 23:16
	mov %ah, gdt + GDT_TSS_SELECTOR + 7	# base 31:24
	movq $entry_stack_top, cpu_tss + TSS_RSP0
	movq $df_stack_top, cpu_tss + TSS_IST1 + 8 * (IST_INDEX_DF - 1)
	movq $nmi_stack_top, cpu_tss + TSS_IST1 + 8 * (IST_INDEX_NMI - 1)
	movq $db_stack_top, cpu_tss + TSS_IST1 + 8 * (IST_INDEX_DB - 1)
	movq $mce_stack_top, cpu_tss + TSS_IST1 + 8 * (IST_INDEX_MCE - 1)
	mov $GDT_TSS_SELECTOR, %eax
	ltr %ax

	movq $percpu, percpu + PER_CPU_SELF
	movq $thread_stack_top, percpu + PER_CPU_TOP_OF_STACK
	movq $entry_stack_top, percpu + PER_CPU_TRAMPOLINE_TOP
	movq $irq_stack_top, percpu + PER_CPU_IRQ_STACK_PTR
	movq $-1, percpu + PER_CPU_IRQ_COUNT
	mov $MSR_GS_BASE, %ecx
	mov $(percpu + (__START_KERNEL_map & 0xffffffff)), %eax	# the alias: a negative GS base (defs.inc)
	mov $(__START_KERNEL_map >> 32), %edx
	wrmsr
	mov $MSR_KERNEL_GS_BASE, %ecx
	xor %eax, %eax
	xor %edx, %edx
	wrmsr
	ret

# syscall_init: the MSRs of the fast system calls, as a kernel's syscall_init sets them. STAR: SYSCALL loads
# CS = 0x10, SS = 0x18; SYSRET loads CS = 0x23 (SYSRETL) or 0x33 (SYSRETQ) and SS = 0x2b — the GDT is laid out for
# this arithmetic. SFMASK clears what must not leak into the kernel. CSTAR and the SYSENTER MSRs lead to the compat
# entries (entry_64_compat.S); SYSENTER's stack is the trampoline stack, as TSS.RSP0, because it starts on the user root.
syscall_init:
	mov $MSR_STAR, %ecx
	xor %eax, %eax
	mov $((__USER32_CS << 16) | __KERNEL_CS), %edx
	wrmsr
	mov $MSR_LSTAR, %ecx
	mov $entry_SYSCALL_64, %eax
	xor %edx, %edx
	wrmsr
	mov $MSR_CSTAR, %ecx
	mov $entry_SYSCALL_compat, %eax
	wrmsr
	mov $MSR_SYSCALL_MASK, %ecx
	mov $SYSCALL_SFMASK, %eax
	wrmsr
	mov $MSR_IA32_SYSENTER_CS, %ecx
	mov $__KERNEL_CS, %eax			# SYSENTER loads CS = this, SS = this + 8: __KERNEL_DS
	wrmsr
	mov $MSR_IA32_SYSENTER_ESP, %ecx
	mov $entry_stack_top, %eax
	wrmsr
	mov $MSR_IA32_SYSENTER_EIP, %ecx
	mov $entry_SYSENTER_compat, %eax
	wrmsr
	ret

# cr4_init: SMEP and SMAP when CPUID has them; with KPTI and PCID (switch and CPUID), PCIDs on both roots and the
# CR3 values that keep their TLB entries (bit 63). Stores the two CR3 values in the per-CPU area.
cr4_init:
	xor %eax, %eax
	cpuid
	mov %cr4, %rdi
	cmp $7, %eax
	jb 1f
	mov $7, %eax
	xor %ecx, %ecx
	cpuid
	bt $CPUID7_EBX_SMEP, %ebx
	jnc 2f
	or $X86_CR4_SMEP, %edi
2:	bt $CPUID7_EBX_SMAP, %ebx
	jnc 1f
	or $X86_CR4_SMAP, %edi
	movb $1, x86_smap			# ASM_STAC/ASM_CLAC: STAC and CLAC exist
1:	mov %rdi, %cr4

	mov $kernel_pgd, %eax
	mov %rax, percpu + PER_CPU_KERNEL_CR3
	.if KPTI
	add $PTI_USER_PGTABLE_MASK, %eax
	.endif
	mov %rax, percpu + PER_CPU_USER_CR3
	.if KPTI && PCID
	mov $1, %eax
	cpuid
	bt $CPUID1_ECX_PCID, %ecx
	jnc 3f
	mov %cr4, %rax				# CR3's PCID is 0 here, as setting CR4.PCIDE requires
	or $X86_CR4_PCIDE, %eax
	mov %rax, %cr4
	mov $(kernel_pgd + KERNEL_PCID), %eax
	mov %rax, %cr3				# the kernel PCID's first load flushes (bit 63 clear)
	bts $X86_CR3_PCID_NOFLUSH_BIT, %rax
	mov %rax, percpu + PER_CPU_KERNEL_CR3
	or $(PTI_USER_PGTABLE_MASK | PTI_USER_PCID_MASK), %rax
	mov %rax, percpu + PER_CPU_USER_CR3	# the user PCID has never been used: nothing stale to keep
3:
	.endif
	ret

	.pushsection .data, "aw"
	.globl x86_smap
x86_smap:					# 1 when CR4.SMAP is on (defs.inc: ASM_STAC, ASM_CLAC)
	.byte 0
	.popsection

# ---- Placeholder exception and interrupt gates (idtentry.S replaces them) ----
# Every exception vector reports itself and stops the machine; any other vector likewise. They may arrive on the
# user root (KPTI), so they live in the entry text and reach the kernel root before going further.
	.section .entry.text, "ax"
	.irp vector, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
early_idt_\vector:
	.if ((1 << \vector) & X86_TRAP_ERRCODE_MASK) == 0
	pushq $0				# a uniform frame: an error code for every vector
	.endif
	pushq $\vector
	jmp early_exception
	IDT_GATE \vector, early_idt_\vector
	.endr
early_unexpected_interrupt:
	pushq $0
	pushq $-1
	jmp early_exception
	.irp high, 2,3,4,5,6,7,8,9,10,11,12,13,14,15
	.irp low, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	IDT_GATE (\high<<4)+\low, early_unexpected_interrupt
	.endr
	.endr

# early_exception: [RSP] = vector (-1: an external interrupt), error code, then the hardware frame.
early_exception:
	mov percpu + PER_CPU_KERNEL_CR3, %rax	# GS may be the user's: the per-CPU area by its address
	mov %rax, %cr3
	jmp early_exception_report

	.section .text.kernel, "ax"
early_exception_report:
	KPRINT "FATAL exception "
	mov (%rsp), %rax
	call serial_puthex
	KPRINT " error "
	mov 8(%rsp), %rax
	call serial_puthex
	KPRINT " at RIP "
	mov 16(%rsp), %rax
	call serial_puthex
	KPRINT "\n"
	mov $FATAL_EXIT_STATUS, %eax
	jmp machine_exit

# ---- Serial output (COM1, polled) and exit; the kernel's own, used by the write system call too ----

# serial_putc: send AL. Keeps every register (flags excepted).
serial_putc:
	push %rdx
	push %rax
	mov $(COM1 + UART_LSR), %dx
1:	in %dx, %al
	test $UART_LSR_THRE, %al		# wait for room in the transmitter
	jz 1b
	pop %rax
	mov $COM1, %dx
	out %al, %dx
	pop %rdx
	ret

# serial_puts: send the zero-terminated string at RSI. Advances RSI past it; keeps the other registers.
serial_puts:
	push %rax
1:	lodsb
	test %al, %al
	jz 2f
	call serial_putc
	jmp 1b
2:	pop %rax
	ret

# serial_puthex: send RAX as 0x and sixteen hex digits. Keeps every register (flags excepted).
serial_puthex:
	push %rax
	push %rcx
	push %rdx
	mov %rax, %rdx
	mov $'0', %al
	call serial_putc
	mov $'x', %al
	call serial_putc
	mov $16, %ecx
1:	rol $4, %rdx
	mov %dl, %al
	and $0xf, %al
	add $'0', %al
	cmp $'9', %al
	jbe 2f
	add $('a' - '9' - 1), %al
2:	call serial_putc
	loop 1b
	pop %rdx
	pop %rcx
	pop %rax
	ret

# machine_exit: end the run with EAX as the debug-exit value (QEMU's status is (EAX << 1) | 1).
machine_exit:
	mov $DEBUG_EXIT_PORT, %dx
	out %eax, %dx
1:	cli					# without the device, stop here for good
	hlt
	jmp 1b

# ---- Descriptor tables, TSS, per-CPU area and the stacks both roots need ----
	.section .entry.data, "aw"
	.balign 16
gdt:
	.quad 0
	.quad 0x00cf9b000000ffff		# 0x08 __KERNEL32_CS: flat 32-bit code, for the boot's first far jump
	.quad 0x00af9b000000ffff		# 0x10 __KERNEL_CS: 64-bit (L = 1)
	.quad 0x00cf93000000ffff		# 0x18 __KERNEL_DS
	.quad 0x00cffb000000ffff		# 0x23 __USER32_CS: STAR[63:48]; SYSRETL's CS
	.quad 0x00cff3000000ffff		# 0x2b __USER_DS: STAR[63:48] + 8, SYSRET's SS
	.quad 0x00affb000000ffff		# 0x33 __USER_CS: STAR[63:48] + 16, SYSRETQ's CS
	.quad 0
	.quad 0x0000890000000000 | (TSS_SIZE - 1)	# 0x40 TSS: available 64-bit TSS; cpu_init fills in the base
	.quad 0
	.quad 0					# 0x50 LDT: empty until an LDT is installed
	.quad 0
gdt_end:
gdt_descr:
	.word gdt_end - gdt - 1
	.quad gdt
idt_descr:
	.word 256 * 16 - 1
	.quad idt_table

	.balign 16
cpu_tss:
	.skip TSS_IOPB
	.word TSS_SIZE				# the I/O bitmap lies past the limit: no ports for CPL 3 unless IOPL allows
	.balign 64
percpu:
	.skip PER_CPU_SIZE

	.balign PAGE_SIZE
idt_table:
	.skip 256 * 16
	# The stacks the processor switches to before the entry code runs: the trampoline (TSS.RSP0, used by every
	# entry from user mode and by the exits) and the IST stacks. They must be mapped in the user root.
	.balign PAGE_SIZE
	.skip TRAMPOLINE_STACK_SIZE
entry_stack_top:
	.skip EXCEPTION_STKSZ
df_stack_top:
	.skip EXCEPTION_STKSZ
nmi_stack_top:
	.skip DEBUG_STKSZ
db_stack_top:
	.skip EXCEPTION_STKSZ
mce_stack_top:

	.bss
	.balign 2 * PAGE_SIZE
kernel_pgd:					# the root, and the KPTI pair: the user root = kernel_pgd + 4 KiB
	.if LA57
kernel_pml5:	.skip PAGE_SIZE
user_pml5:	.skip PAGE_SIZE
kernel_pml4:	.skip PAGE_SIZE
user_pml4:	.skip PAGE_SIZE
kernel_p4d_high: .skip PAGE_SIZE		# PML5 slot 511: the kernel half (__START_KERNEL_map, espfix)
user_p4d_high:	.skip PAGE_SIZE
la57_edge_p4d:	.skip PAGE_SIZE		# PML5 slot 255: the stack's PDPT below the 57-bit canonical boundary
	.else
kernel_pml4:	.skip PAGE_SIZE
user_pml4:	.skip PAGE_SIZE
	.set kernel_p4d_high, kernel_pml4	# 4-level: the kernel half's slots are the root's own
	.set user_p4d_high, user_pml4
	.endif
kernel_pdpt0:	.skip PAGE_SIZE
kernel_pd0:	.skip PAGE_SIZE
kernel_pt0:	.skip PAGE_SIZE
user_pdpt0:	.skip PAGE_SIZE
user_pd0:	.skip PAGE_SIZE
kernel_high_pdpt: .skip PAGE_SIZE
user_high_pdpt:	.skip PAGE_SIZE
user_pt0:	.skip PAGE_SIZE
high_pdpt:	.skip PAGE_SIZE
high_pd:	.skip PAGE_SIZE
high_pt:	.skip PAGE_SIZE
user_stack:	.skip USER_STACK_PAGES * PAGE_SIZE
user_boundary_page: .skip PAGE_SIZE
	.skip THREAD_SIZE
thread_stack_top:
	.skip IRQ_STACK_SIZE
irq_stack_top:
sys_call_table:	.skip NR_syscalls * 8
ia32_sys_call_table: .skip NR_compat_syscalls * 8
