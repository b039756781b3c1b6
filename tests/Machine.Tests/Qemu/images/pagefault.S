# Page faults in long mode: a read of an address whose PDPT entry is not present, a write to a read-only page,
# an instruction fetch from an execute-disable page (EFER.NXE). The #PF handler prints the error code (SDM vol. 3
# §5.7: P, W/R, U/S, I/D), CR2 and the saved RIP, then either maps the page and returns to retry the access, or,
# for a protection fault, resumes at a fixup address. The accessed and dirty bits the processor set on the way
# are printed from the PD entry (§5.8).
	.include "longmode.inc"
	.set WINDOW, 0x80000000		# PDPT entry 2: not present until the handler maps it
	.set ALIASED, 0x200000		# the physical page the handler maps there, read-write
	.set READ_ONLY, 0x400000	# the next 2 MiB page, mapped read-only
	.set NO_EXECUTE, 0x600000	# the third, mapped execute-disable
	.set PF_P, 1 << 0
	.set PTE_XD, 1 << 63
	.set EFER_NXE, 1 << 11
	.set RET, 0xc3

	.code64
	.text
main64:
	mov $14, %edi
	mov $page_fault, %esi
	mov $0x8e00, %edx
	call set_gate
	movq $0x600dcafe12345678, %rax
	mov %rax, ALIASED		# through the identity map
	movl $READ_ONLY, READ_ONLY

	mov $WINDOW, %ebx
	mov (%rbx), %rax		# faults: not present; the handler maps it and this runs again
	show "read through the new mapping: "
	mov pd2, %rax
	show "its PD entry, accessed: "
	movl $0, 4(%rbx)
	mov pd2, %rax
	show "written, dirty: "
	movq $1f, fixup
	movl $0, 0x200000(%rbx)		# faults: read-only; the handler resumes at 1f
1:	mov 0x200000(%rbx), %eax
	show "read-only page kept: "

	mov $MSR_EFER, %ecx
	rdmsr
	or $EFER_NXE, %eax
	wrmsr
	movb $RET, NO_EXECUTE
	movq $2f, fixup
	lea 0x400000(%rbx), %rax
	jmp *%rax			# faults: execute-disable; the handler resumes at 2f
2:	btrq $63, pd2 + 2 * 8		# allow execution, drop the cached translation, and call the RET there
	invlpg (%rax)
	call *%rax
	print "executed after INVLPG\n"
	mov $0x21, %al
	jmp exit

# page_fault: print the frame's error code, CR2 and RIP. A not-present fault is fixed by mapping the window and
# retried; a protection fault resumes at the address in fixup.
page_fault:
	push %rax
	mov 8(%rsp), %rax
	show "#PF error code "
	mov %cr2, %rax
	show "    cr2 "
	mov 16(%rsp), %rax
	show "    rip "
	testb $PF_P, 8(%rsp)
	jnz 1f
	movq $(pd2 + PTE_P + PTE_RW), pdpt + 2 * 8
	movq $(ALIASED + PTE_P + PTE_RW + PTE_PS), pd2
	movq $(READ_ONLY + PTE_P + PTE_PS), pd2 + 8
	movabs $(NO_EXECUTE + PTE_P + PTE_RW + PTE_PS + PTE_XD), %rax
	mov %rax, pd2 + 2 * 8
	pop %rax
	add $8, %rsp			# the error code
	iretq
1:	mov fixup, %rax
	mov %rax, 16(%rsp)
	pop %rax
	add $8, %rsp
	iretq

	.bss
	.align 4096
pd2:	.skip 4096
fixup:	.quad 0
