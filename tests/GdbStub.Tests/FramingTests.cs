using System.Text;

namespace Repl.GdbStub.Tests;

public class FramingTests
{
    static List<Frame> Decode(string bytes)
    {
        var decoder = new PacketDecoder();
        var frames = new List<Frame>();
        foreach (byte b in Encoding.Latin1.GetBytes(bytes))
            if (decoder.Feed(b) is { } frame)
                frames.Add(frame);
        return frames;
    }

    [Fact]
    public void A_packet_with_its_checksum_decodes_to_its_payload()
    {
        var frames = Decode("$m1000,4#8e");

        Assert.Equal([(FrameKind.Packet, "m1000,4")], frames.Select(f => (f.Kind, f.Text)));
    }

    [Fact]
    public void A_packet_whose_checksum_does_not_match_is_bad()
    {
        Assert.Equal(FrameKind.BadPacket, Decode("$m1000,4#8f").Single().Kind);
        Assert.Equal(FrameKind.BadPacket, Decode("$m1000,4#zz").Single().Kind);
    }

    [Fact]
    public void Acknowledgements_and_the_interrupt_byte_are_frames_of_their_own()
    {
        Assert.Equal([FrameKind.Ack, FrameKind.Nak, FrameKind.Interrupt], Decode("+-\x03").Select(f => f.Kind));
    }

    [Fact]
    public void Junk_between_packets_is_skipped_and_a_dollar_inside_a_packet_starts_it_again()
    {
        var frames = Decode("garbage\x7f$g$?#3f");

        Assert.Equal([(FrameKind.Packet, "?")], frames.Select(f => (f.Kind, f.Text)));
    }

    [Fact]
    public void Run_length_encoding_expands_the_previous_character()
    {
        // "0* " is '0' and 3 more: ' ' is 32, and the count is the character minus 29.
        string payload = "X0* ";
        int sum = Encoding.Latin1.GetBytes(payload).Sum(b => b);

        var frame = Decode($"${payload}#{sum & 0xFF:x2}").Single();

        Assert.Equal("X0000", frame.Text);
    }

    [Fact]
    public void A_run_length_marker_with_nothing_to_repeat_makes_the_packet_bad()
    {
        Assert.Equal(FrameKind.BadPacket, Decode(Encoding.Latin1.GetString(Protocol.Frame("*#"u8))).Single().Kind);
    }

    [Fact]
    public void A_packet_over_the_size_limit_is_bad_however_its_checksum_reads()
    {
        var payload = new byte[PacketDecoder.MaxPayload + 1];
        Array.Fill(payload, (byte)'a');

        Assert.Equal(FrameKind.BadPacket, Decode(Encoding.Latin1.GetString(Protocol.Frame(payload))).Single().Kind);
    }

    [Fact]
    public void Frame_appends_the_modulo_256_checksum_in_lowercase_hex()
    {
        Assert.Equal("$OK#9a", Encoding.Latin1.GetString(Protocol.Frame("OK"u8)));
    }

    [Fact]
    public void Binary_escaping_hides_the_framing_characters_and_round_trips()
    {
        byte[] data = [(byte)'#', (byte)'$', (byte)'}', (byte)'*', 0, 0xFF];

        byte[] escaped = Protocol.EscapeBinary(data);

        Assert.DoesNotContain(escaped, b => b is (byte)'#' or (byte)'$' or (byte)'*');
        Assert.Equal(data, Protocol.UnescapeBinary(escaped));
    }
}
