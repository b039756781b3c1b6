# kernel.S: the entry kernel's one top-level file. It names every section once, in layout order (our assembler
# places sections in the order the source first names them, .bss last), with a label at the start of each
# page-aligned region, so boot.S can give each region its page rights; then it includes the files; then it
# closes the registration lists (defs.inc's IDT_GATE, SYSCALL_64, SYSCALL_COMPAT, SELFTEST) with end labels.
	.include "defs.inc"

	.text					# multiboot header, 32-bit start, long-mode boot: kernel only
__text_start:
	.section .entry.text, "ax"		# runs before the entry's CR3 switch and after the exit's: both roots
	.balign PAGE_SIZE
__entry_text_start:
	.section .entry.data, "aw"		# GDT, IDT, TSS, per-CPU area, trampoline and IST stacks: both roots
	.balign PAGE_SIZE
__entry_data_start:
	.section .text.kernel, "ax"		# the kernel proper: kernel root only
	.balign PAGE_SIZE
__kernel_text_start:
	.section .rodata, "a"
	.balign PAGE_SIZE
__rodata_start:
	.section .rodata.idt_list, "a"
	.balign 16
__idt_list_start:
	.section .rodata.syscalls_64, "a"
	.balign 16
__syscalls_64_start:
	.section .rodata.syscalls_compat, "a"
	.balign 16
__syscalls_compat_start:
	.section .rodata.extable, "a"
	.balign 16
__ex_table_start:
	.section .data, "aw"
	.balign PAGE_SIZE
__data_start:
	.section .user.text, "ax"		# the self-test: user pages, in both roots
	.balign PAGE_SIZE
__user_text_start:
	.section .user.data, "aw"
	.balign PAGE_SIZE
__user_data_start:
	.section .user.data.selftests, "aw"
	.balign 8
__selftests_start:
	.bss					# stacks and page tables: kernel only
	.balign PAGE_SIZE
__bss_start:

	.include "boot.S"
	.include "entry_64.S"
	.include "entry_64_compat.S"
	.include "syscalls.S"
	.include "idtentry.S"
	.include "signal.S"
	.include "interrupts.S"
	.include "nmi.S"
	.include "selftest.S"

	.section .rodata.idt_list
__idt_list_end:
	.section .rodata.syscalls_64
__syscalls_64_end:
	.section .rodata.syscalls_compat
__syscalls_compat_end:
	.section .rodata.extable
__ex_table_end:
	.section .user.data.selftests
__selftests_end:
__load_end:					# the last section with bytes: multiboot's load_end_addr
	.bss
	.balign PAGE_SIZE
__bss_end:
