using Ferry.Amqp;
using Ferry.Amqp.Framing;
using Ferry.Amqp.Methods;

namespace Ferry.Fuzz.Targets;

/// <summary>
/// A content header frame's payload, as AmqpChannel.HandleHeader reads it: class, weight and body size, then
/// the property list checked without decoding (AmqpContentCodec.Read, once per publish), the reply-to looked
/// up, and the whole list decoded as the broker does for the properties it routes on or shows
/// (BasicProperties.Parse: headers, expiration, priority...).
/// </summary>
internal sealed class AmqpContentHeaderTarget : IFuzzTarget
{
    public string Name => "amqp-content-header";

    public long AllocationAllowance => 64 * 1024;

    public void Run(ReadOnlySpan<byte> input) => Read(input);

    public static void Read(ReadOnlySpan<byte> payload)
    {
        try
        {
            var header = ContentHeader.Read(payload);
            if (header.ClassId != BasicProperties.ClassId) return; // 505 unexpected-frame
            var properties = header.RawProperties;
            AmqpContentCodec.Read(properties);
            AmqpContentCodec.ReadReplyTo(properties);
            BasicProperties.Parse(properties.ToArray());
        }
        catch (AmqpFrameException)
        {
            // 502 syntax-error: the connection closes.
        }
    }
}
