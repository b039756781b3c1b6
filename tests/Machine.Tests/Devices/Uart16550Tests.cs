using static Iced.Intel.AssemblerRegisters;

namespace Repl.Machine.Tests.Devices;

public class Uart16550Tests
{
    const ushort Base = Uart16550.Com1;
    const ushort Thr = Base, Rbr = Base, Dll = Base, Ier = Base + 1, Dlm = Base + 1, Iir = Base + 2, Fcr = Base + 2,
                 Lcr = Base + 3, Mcr = Base + 4, Lsr = Base + 5, Msr = Base + 6, Scr = Base + 7;

    readonly Uart16550 _uart = new(Base);
    readonly List<byte> _sent = [];

    public Uart16550Tests() => _uart.Transmitted += _sent.Add;

    byte In(ushort port) => (byte)_uart.In(port, 1);
    void Out(ushort port, byte value) => _uart.Out(port, 1, value);

    [Fact]
    public void A_byte_written_to_thr_reaches_the_host()
    {
        Out(Thr, (byte)'A');
        Out(Thr, 0);

        Assert.Equal([(byte)'A', 0], _sent);
    }

    [Fact]
    public void Lsr_always_shows_the_transmitter_empty_and_data_ready_only_while_input_waits()
    {
        Assert.Equal(0x60, In(Lsr));
        _uart.Receive("ok"u8);
        Assert.Equal(0x61, In(Lsr));

        Assert.Equal((byte)'o', In(Rbr));
        Assert.Equal((byte)'k', In(Rbr));

        Assert.Equal(0x60, In(Lsr));
    }

    [Fact]
    public void With_dlab_set_the_first_two_registers_are_the_divisor_latch_and_nothing_is_sent()
    {
        Out(Lcr, 0x83);
        Out(Dll, 0x01);
        Out(Dlm, 0x02);
        Assert.Equal(0x01, In(Dll));
        Assert.Equal(0x02, In(Dlm));
        Out(Lcr, 0x03);

        Assert.Empty(_sent);
        Assert.Equal(0, In(Ier));
        Assert.Equal(0x03, In(Lcr));
    }

    [Fact]
    public void Iir_reports_no_interrupt_and_the_fifo_bits_once_fifos_are_enabled()
    {
        Assert.Equal(0x01, In(Iir));
        Out(Fcr, 0x01);
        Assert.Equal(0xC1, In(Iir));
    }

    [Fact]
    public void Enabling_the_thr_empty_interrupt_raises_it_and_reading_iir_clears_it_until_the_next_byte()
    {
        Out(Ier, 0x02);
        Assert.True(_uart.InterruptPending);
        Assert.Equal(0x02, In(Iir));
        Assert.False(_uart.InterruptPending);
        Assert.Equal(0x01, In(Iir));

        Out(Thr, (byte)'x');

        Assert.True(_uart.InterruptPending);
    }

    [Fact]
    public void Received_data_interrupt_outranks_thr_empty_and_ends_when_the_data_is_read()
    {
        Out(Ier, 0x03);
        _uart.Receive([0x42]);
        Assert.Equal(0x04, In(Iir));

        In(Rbr);

        Assert.Equal(0x02, In(Iir));
    }

    [Fact]
    public void No_interrupt_is_pending_while_the_conditions_are_disabled()
    {
        _uart.Receive([1]);
        Out(Thr, 1);

        Assert.False(_uart.InterruptPending);
    }

    [Fact]
    public void Loopback_returns_transmitted_bytes_to_the_receiver_and_reflects_mcr_in_msr()
    {
        // The Linux 8250 probe: LOOP with RTS and OUT2 must read back CTS and DCD.
        Out(Mcr, 0x1A);
        Assert.Equal(0x90, In(Msr) & 0xF0);

        Out(Thr, 0x5A);

        Assert.Empty(_sent);
        Assert.Equal(0x61, In(Lsr));
        Assert.Equal(0x5A, In(Rbr));
    }

    [Fact]
    public void Msr_shows_the_host_line_active_and_records_changes_until_read()
    {
        Assert.Equal(0xB0, In(Msr));
        Out(Mcr, 0x10); // loopback with every output off: CTS, DSR and DCD drop
        Assert.Equal(0x0B, In(Msr));
        Assert.Equal(0x00, In(Msr));
    }

    [Fact]
    public void Fcr_clears_the_receive_fifo_only_together_with_the_enable_bit()
    {
        _uart.Receive("abc"u8);
        Out(Fcr, 0x02);
        Assert.Equal(0x61, In(Lsr));

        Out(Fcr, 0x03);

        Assert.Equal(0x60, In(Lsr));
    }

    [Fact]
    public void Turning_the_fifos_off_empties_them()
    {
        Out(Fcr, 0x01);
        _uart.Receive("abc"u8);

        Out(Fcr, 0x00);

        Assert.Equal(0x60, In(Lsr));
    }

    [Fact]
    public void The_scratch_register_keeps_what_was_written()
    {
        Out(Scr, 0xA5);
        Assert.Equal(0xA5, In(Scr));
    }

    [Fact]
    public void A_word_write_acts_as_byte_writes_to_consecutive_registers()
    {
        _uart.Out(Thr, 2, 0x0241);

        Assert.Equal([(byte)'A'], _sent);
        Assert.Equal(0x02, In(Ier));
    }

    [Fact]
    public void A_guest_polling_lsr_prints_through_com1_of_the_machine()
    {
        var m = Guest.Protected(a =>
        {
            var wait = a.CreateLabel();
            var next = a.CreateLabel();
            var done = a.CreateLabel();
            a.mov(esi, (uint)Guest.Data);
            a.Label(ref next);
            a.lodsb();
            a.test(al, al);
            a.jz(done);
            a.mov(bl, al);
            a.mov(dx, Lsr);
            a.Label(ref wait);
            a.@in(al, dx);
            a.test(al, 0x20);
            a.jz(wait);
            a.mov(al, bl);
            a.mov(dx, Thr);
            a.@out(dx, al);
            a.jmp(next);
            a.Label(ref done);
            a.hlt();
        });
        m.WritePhysical(Guest.Data, "hi!\0"u8);
        var sent = new List<byte>();
        m.Com1.Transmitted += sent.Add;

        Guest.RunToHalt(m, 1000);

        Assert.Equal("hi!"u8.ToArray(), sent);
    }
}
