using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Ferry.Amqp.Framing;
using Ferry.Amqp.Methods;
using Ferry.Broker.Queues;

namespace Ferry.Amqp;

/// <summary>The broker's window on AMQP content: properties and field tables, with this layer's codecs.</summary>
internal sealed class AmqpContentCodec : IMessageContentCodec
{
    /// <summary>
    /// Reads delivery-mode, priority and expiration by walking the property list without decoding the rest
    /// (no strings, no header table): this runs once per publish.
    /// <code>flags short | content-type s | content-encoding s | headers table | delivery-mode o | priority o |
    /// correlation-id s | reply-to s | expiration s | ...</code>
    /// </summary>
    public MessageInfo ReadInfo(ReadOnlySpan<byte> raw)
    {
        if (raw.Length < 2) return MessageInfo.Default;
        var reader = new AmqpReader(raw);
        ushort flags = reader.ReadShort();
        bool persistent = false;
        byte priority = 0;
        long expiration = -1;
        if ((flags & 0x8000) != 0) reader.ReadShortStrBytes();
        if ((flags & 0x4000) != 0) reader.ReadShortStrBytes();
        if ((flags & 0x2000) != 0) reader.ReadLongStrBytes();
        if ((flags & 0x1000) != 0) persistent = reader.ReadOctet() == 2;
        if ((flags & 0x0800) != 0) priority = reader.ReadOctet();
        if ((flags & 0x0400) != 0) reader.ReadShortStrBytes();
        if ((flags & 0x0200) != 0) reader.ReadShortStrBytes();
        if ((flags & 0x0100) != 0)
        {
            var text = reader.ReadShortStrBytes();
            if (!long.TryParse(Encoding.ASCII.GetString(text), NumberStyles.None, CultureInfo.InvariantCulture, out expiration))
            {
                AmqpFrameException.ThrowSyntaxError("Invalid expiration property.");
            }
        }

        return new MessageInfo(persistent, priority, expiration);
    }

    /// <summary>Checks that a property list parses at all (publish-time validation).</summary>
    public static void Validate(ReadOnlySpan<byte> raw)
    {
        var reader = new AmqpReader(raw);
        BasicProperties.Read(ref reader);
    }

    public IReadOnlyDictionary<string, object?>? ReadHeaders(ReadOnlySpan<byte> raw)
    {
        if (raw.Length < 2 || (BinaryPrimitives.ReadUInt16BigEndian(raw) & 0x2000) == 0) return null;
        var reader = new AmqpReader(raw);
        return BasicProperties.Read(ref reader).Headers;
    }

    public byte[] AddDeath(AmqpMessage message, string queue, string reason, long nowUnixSeconds)
    {
        var reader = new AmqpReader(message.RawProperties);
        var properties = BasicProperties.Read(ref reader);
        var headers = properties.Headers is null
            ? new Dictionary<string, object?>(StringComparer.Ordinal)
            : new Dictionary<string, object?>(properties.Headers, StringComparer.Ordinal);
        var deaths = headers.GetValueOrDefault("x-death") as List<object?> ?? [];
        Dictionary<string, object?>? match = null;
        foreach (var item in deaths)
        {
            if (item is Dictionary<string, object?> death
                && QueueArguments.AsString(death.GetValueOrDefault("queue")) == queue
                && QueueArguments.AsString(death.GetValueOrDefault("reason")) == reason)
            {
                match = death;
                break;
            }
        }

        if (match is not null)
        {
            // Counted up and moved to the front: the most recent death comes first, as in RabbitMQ.
            deaths.Remove(match);
            match["count"] = (QueueArguments.TryLong(match.GetValueOrDefault("count"), out long count) ? count : 0) + 1;
            match["time"] = new AmqpTimestamp(nowUnixSeconds);
        }
        else
        {
            match = new Dictionary<string, object?>(StringComparer.Ordinal)
            {
                ["count"] = 1L,
                ["reason"] = reason,
                ["queue"] = queue,
                ["time"] = new AmqpTimestamp(nowUnixSeconds),
                ["exchange"] = message.Exchange,
                ["routing-keys"] = new List<object?> { message.RoutingKey },
            };
            if (properties.Expiration is not null) match["original-expiration"] = properties.Expiration;
        }

        deaths.Insert(0, match);
        headers["x-death"] = deaths;
        if (!headers.ContainsKey("x-first-death-reason"))
        {
            headers["x-first-death-reason"] = reason;
            headers["x-first-death-queue"] = queue;
            headers["x-first-death-exchange"] = message.Exchange;
        }

        properties.Headers = headers;
        properties.Expiration = null;
        var bytes = new byte[properties.GetSize()];
        var writer = new AmqpWriter(bytes);
        properties.Write(ref writer);
        return bytes;
    }

    public byte[] EncodeTable(IDictionary<string, object?>? table)
    {
        var bytes = new byte[AmqpWriter.GetTableSize(table)];
        var writer = new AmqpWriter(bytes);
        writer.WriteTable(table);
        return bytes;
    }

    public Dictionary<string, object?>? DecodeTable(ReadOnlySpan<byte> encoded)
    {
        if (encoded.Length < 4) return null;
        var reader = new AmqpReader(encoded);
        return reader.ReadTable();
    }
}
