# ldt.S: the task's LDT and modify_ldt (Linux's numbers: 154, compat 123), the way 16-bit and 32-bit programs (Wine,
# DOS emulators) get segments of their own. The LDT lives in .entry.data: the processor reads it under the user root
# whenever user code or an IRET loads an LDT selector. Entries are always user segments (S = 1, DPL 3): modify_ldt
# cannot make gates, system descriptors or anything of another privilege level.

	.set LDT_ENTRIES, 16			# Linux allows 8192; a handful is enough for the self-test's segments
	.set LDT_ENTRY_SIZE, 8
	# struct user_desc (Linux's asm/ldt.h): entry_number, base_addr, limit (4 bytes each), then bit fields.
	.set USER_DESC_ENTRY_NUMBER, 0
	.set USER_DESC_BASE, 4
	.set USER_DESC_LIMIT, 8
	.set USER_DESC_FLAGS, 12
	.set USER_DESC_SIZE, 16
	.set UD_SEG_32BIT, 1 << 0
	.set UD_CONTENTS_SHIFT, 1		# 2 bits: 0 data, 1 expand-down data, 2 code, 3 conforming code
	.set UD_READ_EXEC_ONLY, 1 << 3
	.set UD_LIMIT_IN_PAGES, 1 << 4
	.set UD_SEG_NOT_PRESENT, 1 << 5
	.set UD_USEABLE, 1 << 6
	.set UD_LM, 1 << 7
	.set UD_EMPTY_FLAGS, UD_READ_EXEC_ONLY | UD_SEG_NOT_PRESENT	# what Linux's LDT_empty asks for, base and limit 0
	# Descriptor bits (SDM vol. 3 §3.4.5), in the descriptor's upper dword.
	.set DESC_ACCESSED, 1 << 8
	.set DESC_WRITABLE, 1 << 9		# data: writable; code: readable
	.set DESC_S, 1 << 12
	.set DESC_DPL3, 3 << 13
	.set DESC_P, 1 << 15
	.set DESC_AVL, 1 << 20
	.set DESC_L, 1 << 21
	.set DESC_DB, 1 << 22
	.set DESC_G, 1 << 23
	.set MODIFY_LDT_READ, 0
	.set MODIFY_LDT_WRITE_OLD, 1
	.set MODIFY_LDT_WRITE, 0x11

# UD_FLAG_TO_DESC flag, bit: in sys_modify_ldt, the descriptor's bit (EDX) when the user_desc flag (R11D) is set.
	.macro UD_FLAG_TO_DESC flag, bit
	test $\flag, %r11d
	jz .Lud_flag_clear\@
	or $\bit, %edx
.Lud_flag_clear\@:
	.endm

	.section .text.kernel, "ax"

# ldt_init: the GDT's LDT descriptor (base = ldt_table, limit = the table) and LDTR, once at boot; empty entries are
# zero, so a selector naming one faults as a not-present segment.
	.globl ldt_init
ldt_init:
	mov $ldt_table, %eax
	mov %ax, gdt + GDT_LDT_SELECTOR + 2	# base 15:0
	shr $16, %eax
	mov %al, gdt + GDT_LDT_SELECTOR + 4	# base 23:16
	mov %ah, gdt + GDT_LDT_SELECTOR + 7	# base 31:24 (63:32 stay 0)
	movw $(LDT_ENTRIES * LDT_ENTRY_SIZE - 1), gdt + GDT_LDT_SELECTOR
	movb $0x82, gdt + GDT_LDT_SELECTOR + 5	# present, DPL 0, type 2: LDT
	mov $GDT_LDT_SELECTOR, %eax
	lldt %ax
	ret

# modify_ldt(func, ptr, bytecount): RDI, RSI, RDX (compat: EBX, ECX, EDX, through SYSCALL_IA32).
# - func 0: copy up to bytecount bytes of the LDT to ptr; returns the bytes copied.
# - func 1 (the old form) and 0x11: install the struct user_desc at ptr (bytecount = 16); returns 0. An empty
#   description (Linux's LDT_empty; for func 1 also an all-zero one) clears the entry.
# -ENOSYS for another func; -EINVAL for a wrong bytecount, an entry past the table or a present conforming code segment (Linux
# refuses those); -EFAULT when ptr is not user memory.
	SYSCALL_64 __NR_modify_ldt, sys_modify_ldt
	SYSCALL_IA32 __NR_compat_modify_ldt, sys_modify_ldt
sys_modify_ldt:
	mov RDI(%rdi), %rax
	mov RSI(%rdi), %rsi
	mov RDX(%rdi), %rcx
	test %rax, %rax
	jz modify_ldt_read
	cmp $MODIFY_LDT_WRITE_OLD, %rax
	je 1f
	cmp $MODIFY_LDT_WRITE, %rax
	jne modify_ldt_enosys
1:	cmp $USER_DESC_SIZE, %rcx
	jne modify_ldt_einval
	push %rbx
	mov %rax, %rbx				# func
	sub $USER_DESC_SIZE, %rsp
	mov %rsp, %rdi
	call copy_from_user
	test %rax, %rax
	jnz 9f
	mov $-EINVAL, %rax
	mov USER_DESC_ENTRY_NUMBER(%rsp), %r8d
	cmp $LDT_ENTRIES, %r8d
	jae 9f
	mov USER_DESC_BASE(%rsp), %r9d
	mov USER_DESC_LIMIT(%rsp), %r10d
	mov USER_DESC_FLAGS(%rsp), %r11d
	and $0xff, %r11d			# the bit fields Linux defines
	xor %edx, %edx				# the descriptor when the description is empty
	mov %r9d, %ecx
	or %r10d, %ecx
	jnz 2f					# base or limit: not empty
	cmp $UD_EMPTY_FLAGS, %r11d
	je 8f
	cmp $MODIFY_LDT_WRITE_OLD, %rbx
	jne 2f
	test %r11d, %r11d
	jz 8f
2:	mov %r11d, %ecx				# contents 3 (conforming code) only when not present, and never in the old form
	shr $UD_CONTENTS_SHIFT, %ecx
	and $3, %ecx
	cmp $3, %ecx
	jne 3f
	cmp $MODIFY_LDT_WRITE_OLD, %rbx
	je 9f
	test $UD_SEG_NOT_PRESENT, %r11d
	jz 9f
3:	cmp $MODIFY_LDT_WRITE_OLD, %rbx		# the old form has no useable bit
	jne 4f
	and $~UD_USEABLE, %r11d
4:	# Upper dword: base 31:24 and 23:16, limit 19:16, the type, S, DPL 3, P, AVL, L, D/B, G.
	mov %r9d, %edx
	and $0xff000000, %edx
	mov %r9d, %eax
	shr $16, %eax
	movzbl %al, %eax
	or %eax, %edx
	mov %r10d, %eax
	and $0xf0000, %eax
	or %eax, %edx
	or $(DESC_ACCESSED | DESC_S | DESC_DPL3 | DESC_P), %edx
	shl $10, %ecx				# contents into type bits 11:10 (expand-down / code, conforming)
	or %ecx, %edx
	test $UD_READ_EXEC_ONLY, %r11d
	jnz 5f
	or $DESC_WRITABLE, %edx
5:	test $UD_SEG_NOT_PRESENT, %r11d
	jz 6f
	and $~DESC_P, %edx
6:	UD_FLAG_TO_DESC UD_USEABLE, DESC_AVL
	UD_FLAG_TO_DESC UD_LM, DESC_L
	UD_FLAG_TO_DESC UD_SEG_32BIT, DESC_DB
	UD_FLAG_TO_DESC UD_LIMIT_IN_PAGES, DESC_G
	shl $32, %rdx				# lower dword: base 15:0, limit 15:0
	mov %r9d, %eax
	shl $16, %eax
	or %rax, %rdx
	movzwl %r10w, %eax
	or %rax, %rdx
8:	mov %rdx, ldt_table(, %r8, 8)
	xor %eax, %eax
9:	add $USER_DESC_SIZE, %rsp
	pop %rbx
	ret
modify_ldt_read:
	cmp $(LDT_ENTRIES * LDT_ENTRY_SIZE), %rcx
	jbe 1f
	mov $(LDT_ENTRIES * LDT_ENTRY_SIZE), %ecx
1:	push %rcx
	mov %rsi, %rdi
	mov $ldt_table, %esi
	call copy_to_user
	pop %rcx
	test %rax, %rax
	jnz 2f
	mov %rcx, %rax
2:	ret
modify_ldt_einval:
	mov $-EINVAL, %rax
	ret
modify_ldt_enosys:				# Linux's answer to another func (2, the default LDT, does not exist here)
	mov $-ENOSYS, %rax
	ret

	.section .entry.data, "aw"
	.balign 8
ldt_table:
	.skip LDT_ENTRIES * LDT_ENTRY_SIZE
