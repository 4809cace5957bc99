using System.Buffers;
using Ferry.Amqp.Framing;
using Ferry.Amqp.Methods;

namespace Ferry.Fuzz.Targets;

/// <summary>
/// The bytes an AMQP client sends, as AmqpConnection reads them: the protocol header, then frames
/// (AmqpFrame.TryReadFrame at the default frame-max of 131072), each method frame's payload through the method
/// codecs and each content header through the header decoders.
/// </summary>
internal sealed class AmqpFrameTarget : IFuzzTarget
{
    private const uint FrameMax = 131072;

    public string Name => "amqp-frame";

    public long AllocationAllowance => 64 * 1024;

    public void Run(ReadOnlySpan<byte> input)
    {
        var buffer = new ReadOnlySequence<byte>(input.ToArray());
        if (!AmqpFrame.TryReadProtocolHeader(ref buffer, out bool ok) || !ok) return;
        try
        {
            while (AmqpFrame.TryReadFrame(ref buffer, FrameMax, out var type, out _, out var payload))
            {
                using var contiguous = new ContiguousBuffer(payload);
                if (type == FrameType.Method) AmqpMethodTarget.Read(contiguous.Span);
                else if (type == FrameType.Header) AmqpContentHeaderTarget.Read(contiguous.Span);
            }
        }
        catch (AmqpFrameException)
        {
            // 501 frame-error or 502 syntax-error: the connection closes.
        }
    }
}
