using System.Buffers.Binary;
using System.Globalization;
using Ferry.Amqp.Framing;
using Ferry.Amqp.Methods;
using Ferry.Broker.Queues;

namespace Ferry.Amqp;

/// <summary>The broker's window on AMQP content: properties and field tables, with this layer's codecs.</summary>
internal sealed class AmqpContentCodec : IMessageContentCodec
{
    /// <summary>
    /// Reads delivery-mode, priority and expiration, checking the whole property list as
    /// <c>BasicProperties.Read</c> does (same 502 syntax-errors) without decoding it: no strings, no header
    /// table. This runs once per publish.
    /// <code>flags short | content-type s | content-encoding s | headers table | delivery-mode o | priority o |
    /// correlation-id s | reply-to s | expiration s | message-id s | timestamp T | type s | user-id s |
    /// app-id s | cluster-id s</code>
    /// </summary>
    public MessageInfo ReadInfo(ReadOnlySpan<byte> raw) => Read(raw);

    /// <inheritdoc cref="ReadInfo"/>
    public static MessageInfo Read(ReadOnlySpan<byte> raw)
    {
        if (raw.Length < 2) return MessageInfo.Default;
        var reader = new AmqpReader(raw);
        ushort flags = reader.ReadShort();
        if ((flags & 0x0003) != 0) AmqpFrameException.ThrowSyntaxError("Undefined basic property flags.");
        bool persistent = false;
        byte priority = 0;
        long expiration = -1;
        if ((flags & 0x8000) != 0) reader.ReadShortStrBytes();
        if ((flags & 0x4000) != 0) reader.ReadShortStrBytes();
        if ((flags & 0x2000) != 0) FieldTableCodec.SkipTable(reader.ReadLongStrBytes(), depth: 1);
        if ((flags & 0x1000) != 0) persistent = reader.ReadOctet() == 2;
        if ((flags & 0x0800) != 0) priority = reader.ReadOctet();
        if ((flags & 0x0400) != 0) reader.ReadShortStrBytes();
        if ((flags & 0x0200) != 0) reader.ReadShortStrBytes();
        if ((flags & 0x0100) != 0
            && !long.TryParse(reader.ReadShortStrBytes(), NumberStyles.None, CultureInfo.InvariantCulture, out expiration))
        {
            AmqpFrameException.ThrowSyntaxError("Invalid expiration property.");
        }

        if ((flags & 0x0080) != 0) reader.ReadShortStrBytes();
        if ((flags & 0x0040) != 0) reader.ReadLongLong();
        if ((flags & 0x0020) != 0) reader.ReadShortStrBytes();
        if ((flags & 0x0010) != 0) reader.ReadShortStrBytes();
        if ((flags & 0x0008) != 0) reader.ReadShortStrBytes();
        if ((flags & 0x0004) != 0) reader.ReadShortStrBytes();
        return new MessageInfo(persistent, priority, expiration);
    }

    /// <summary>The reply-to property's bytes (empty when absent), read without decoding the rest; the
    /// property list has been checked by <see cref="Read"/> already.</summary>
    public static ReadOnlySpan<byte> ReadReplyTo(ReadOnlySpan<byte> raw)
    {
        if (raw.Length < 2) return default;
        var reader = new AmqpReader(raw);
        ushort flags = reader.ReadShort();
        if ((flags & 0x0200) == 0) return default;
        if ((flags & 0x8000) != 0) reader.ReadShortStrBytes();
        if ((flags & 0x4000) != 0) reader.ReadShortStrBytes();
        if ((flags & 0x2000) != 0) reader.ReadLongStrBytes();
        if ((flags & 0x1000) != 0) reader.ReadOctet();
        if ((flags & 0x0800) != 0) reader.ReadOctet();
        if ((flags & 0x0400) != 0) reader.ReadShortStrBytes();
        return reader.ReadShortStrBytes();
    }

    /// <summary>The property list with reply-to replaced (direct reply-to's rewrite; rare, so it may allocate).</summary>
    public static byte[] WithReplyTo(ReadOnlySpan<byte> raw, string replyTo)
    {
        var reader = new AmqpReader(raw);
        var properties = BasicProperties.Read(ref reader);
        properties.ReplyTo = replyTo;
        var bytes = new byte[properties.GetSize()];
        var writer = new AmqpWriter(bytes);
        properties.Write(ref writer);
        return bytes;
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

    public byte[] SetHeader(ReadOnlySpan<byte> rawProperties, string name, long value)
    {
        var reader = new AmqpReader(rawProperties);
        var properties = BasicProperties.Read(ref reader);
        var headers = properties.Headers is null
            ? new Dictionary<string, object?>(StringComparer.Ordinal)
            : new Dictionary<string, object?>(properties.Headers, StringComparer.Ordinal);
        headers[name] = value;
        properties.Headers = headers;
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
