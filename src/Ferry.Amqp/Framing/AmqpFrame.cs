using System.Buffers;
using System.Buffers.Binary;
using Ferry.Amqp.Methods;

namespace Ferry.Amqp.Framing;

/// <summary>
/// Reads AMQP 0-9-1 frames (spec 4.2.3) and the protocol header (spec 4.2.2) off a connection's pipe.
/// <code>
/// frame:  type octet | channel short | size long | payload (size octets) | frame-end octet 0xCE
/// header: 'A' 'M' 'Q' 'P' 0 0 9 1
/// </code>
/// The payload returned is a slice of the pipe's buffer, valid until the reader is advanced.
/// </summary>
public static class AmqpFrame
{
    /// <summary>Type, channel and size.</summary>
    public const int HeaderSize = 7;

    /// <summary>Header plus frame-end: what a frame adds to its payload, counted in frame-max.</summary>
    public const int Overhead = HeaderSize + 1;

    /// <summary>"AMQP" 0 0 9 1: the header a 0-9-1 client sends first, and the one a server answers a wrong one with.</summary>
    public static ReadOnlySpan<byte> ProtocolHeader => "AMQP\0\0\u0009\u0001"u8;

    /// <summary>
    /// Takes one whole frame off the front of <paramref name="buffer"/>. Returns false and leaves the buffer
    /// as it was while the frame is incomplete. A size above <paramref name="frameMax"/> (the negotiated
    /// frame-max, which counts the 8 octets of header and frame-end) is rejected from the header alone,
    /// before its payload is waited for; so are unknown frame types. A wrong frame-end octet is rejected
    /// too. All three throw <see cref="AmqpFrameException"/> with 501 frame-error.
    /// </summary>
    /// <remarks>Channel rules (heartbeats on channel 0, ...) belong to the connection, not to this parser.</remarks>
    public static bool TryReadFrame(
        ref ReadOnlySequence<byte> buffer,
        uint frameMax,
        out FrameType type,
        out ushort channel,
        out ReadOnlySequence<byte> payload)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(frameMax, (uint)Overhead);
        type = default;
        channel = 0;
        payload = default;
        if (buffer.Length < HeaderSize)
        {
            return false;
        }

        Span<byte> header = stackalloc byte[HeaderSize];
        buffer.Slice(0, HeaderSize).CopyTo(header);
        var frameType = (FrameType)header[0];
        if (frameType is not (FrameType.Method or FrameType.Header or FrameType.Body or FrameType.Heartbeat))
        {
            AmqpFrameException.ThrowFrameError($"Unknown frame type {header[0]}.");
        }

        uint size = BinaryPrimitives.ReadUInt32BigEndian(header[3..]);
        if (size > frameMax - Overhead)
        {
            AmqpFrameException.ThrowFrameError($"Frame payload of {size} bytes exceeds frame-max {frameMax}.");
        }

        if (buffer.Length < HeaderSize + (long)size + 1)
        {
            return false;
        }

        ReadOnlySequence<byte> end = buffer.Slice(HeaderSize + (long)size, 1);
        if (end.FirstSpan[0] != AmqpConstants.FrameEnd)
        {
            AmqpFrameException.ThrowFrameError($"Frame end octet 0x{end.FirstSpan[0]:X2}, expected 0xCE.");
        }

        type = frameType;
        channel = BinaryPrimitives.ReadUInt16BigEndian(header[1..]);
        payload = buffer.Slice(HeaderSize, size);
        buffer = buffer.Slice(end.End);
        return true;
    }

    /// <summary>
    /// Takes the protocol header off the front of <paramref name="buffer"/>. Returns false and leaves the
    /// buffer as it was while fewer than 8 bytes have arrived and those match. Returns true with
    /// <paramref name="ok"/> false as soon as a byte differs (those bytes are consumed): the server then
    /// writes <see cref="ProtocolHeader"/> and closes the socket (spec 4.2.2).
    /// </summary>
    public static bool TryReadProtocolHeader(ref ReadOnlySequence<byte> buffer, out bool ok)
    {
        ReadOnlySpan<byte> expected = ProtocolHeader;
        int available = (int)Math.Min(buffer.Length, expected.Length);
        Span<byte> received = stackalloc byte[expected.Length];
        buffer.Slice(0, available).CopyTo(received);
        if (!received[..available].SequenceEqual(expected[..available]))
        {
            ok = false;
            buffer = buffer.Slice(available);
            return true;
        }

        if (available < expected.Length)
        {
            ok = false;
            return false;
        }

        ok = true;
        buffer = buffer.Slice(expected.Length);
        return true;
    }
}
