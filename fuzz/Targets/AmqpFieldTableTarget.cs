using Ferry.Amqp.Framing;

namespace Ferry.Fuzz.Targets;

/// <summary>
/// A field table's content (what follows its long-string length), decoded as arguments of declare, bind and
/// consume are and as message headers are (FieldTableCodec.ReadTable, nested tables and arrays to the depth
/// limit), skipped as the publish path checks headers without decoding them, and as a field array.
/// </summary>
internal sealed class AmqpFieldTableTarget : IFuzzTarget
{
    public string Name => "amqp-field-table";

    public long AllocationAllowance => 64 * 1024;

    public void Run(ReadOnlySpan<byte> input)
    {
        Try(input, static content => FieldTableCodec.SkipTable(content, depth: 1));
        Try(input, static content => FieldTableCodec.ReadTable(content, depth: 1));
        Try(input, static content => FieldTableCodec.ReadArray(content, depth: 1));
    }

    private static void Try(ReadOnlySpan<byte> input, ReadOnlySpanAction<byte> decode)
    {
        try
        {
            decode(input);
        }
        catch (AmqpFrameException)
        {
            // 502 syntax-error: the connection closes.
        }
    }

    private delegate void ReadOnlySpanAction<T>(ReadOnlySpan<T> span);
}
