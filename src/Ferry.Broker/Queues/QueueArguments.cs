namespace Ferry.Broker.Queues;

/// <summary>x-queue-type: where a queue's messages live (RabbitMQ's queue types; streams are not built yet).</summary>
public enum QueueType
{
    /// <summary>One node's queue: its log on the node that declared it.</summary>
    Classic,
    /// <summary>A replicated queue: its log is a partition replicated on min(3, nodes) nodes, led by one of them.</summary>
    Quorum,
}

public enum QueueOverflow
{
    DropHead,
    RejectPublish,
}

/// <summary>
/// The x-arguments of a queue that change its behaviour, as typed values. Record equality is the
/// equivalence check of a redeclare (406 when they differ), as RabbitMQ compares only these.
/// </summary>
public sealed record QueueArguments
{
    /// <summary>x-message-ttl, milliseconds; -1 none.</summary>
    public long MessageTtlMs { get; init; } = -1;

    /// <summary>x-expires: delete the queue after this long unused, milliseconds; -1 never.</summary>
    public long ExpiresMs { get; init; } = -1;

    /// <summary>x-max-length, ready messages; -1 no limit.</summary>
    public long MaxLength { get; init; } = -1;

    /// <summary>x-max-length-bytes, ready body bytes; -1 no limit.</summary>
    public long MaxLengthBytes { get; init; } = -1;

    public QueueOverflow Overflow { get; init; } = QueueOverflow.DropHead;

    /// <summary>x-dead-letter-exchange; null none ("" is the default exchange).</summary>
    public string? DeadLetterExchange { get; init; }

    public string? DeadLetterRoutingKey { get; init; }

    /// <summary>x-max-priority (1-255); 0 not a priority queue.</summary>
    public int MaxPriority { get; init; }

    public bool SingleActiveConsumer { get; init; }

    public QueueType Type { get; init; } = QueueType.Classic;

    /// <summary>Whether x-queue-type was given: a redeclare that leaves it out matches any type (RabbitMQ 3.12+ does too).</summary>
    public bool TypeGiven { get; init; }

    /// <summary>
    /// x-delivery-limit of a quorum queue: a message whose delivery count reaches it is dead-lettered (reason
    /// <c>delivery_limit</c>) instead of coming back; -1 no limit. RabbitMQ 4 defaults to 20; classic queues ignore it.
    /// </summary>
    public long DeliveryLimit { get; init; } = DefaultDeliveryLimit;

    /// <summary>RabbitMQ 4's default x-delivery-limit for quorum queues.</summary>
    public const long DefaultDeliveryLimit = 20;

    /// <summary>What a redeclare compares: the type only when both declarations name it.</summary>
    public bool EquivalentTo(QueueArguments existing) =>
        this with { TypeGiven = false, Type = existing.Type } == existing with { TypeGiven = false };

    public static QueueArguments None { get; } = new();

    /// <summary>Parses the table; a value of the wrong type or range gives the 406 text to send.</summary>
    public static QueueArguments Parse(IReadOnlyDictionary<string, object?>? table, out string? error)
    {
        error = null;
        if (table is null || table.Count == 0) return None;
        var args = new QueueArguments();
        foreach (var (key, value) in table)
        {
            switch (key)
            {
                case "x-message-ttl":
                    if (!TryLong(value, out long ttl) || ttl < 0) { error = "invalid arg 'x-message-ttl'"; return None; }
                    args = args with { MessageTtlMs = ttl };
                    break;
                case "x-expires":
                    if (!TryLong(value, out long expires) || expires <= 0) { error = "invalid arg 'x-expires'"; return None; }
                    args = args with { ExpiresMs = expires };
                    break;
                case "x-max-length":
                    if (!TryLong(value, out long max) || max < 0) { error = "invalid arg 'x-max-length'"; return None; }
                    args = args with { MaxLength = max };
                    break;
                case "x-max-length-bytes":
                    if (!TryLong(value, out long maxBytes) || maxBytes < 0) { error = "invalid arg 'x-max-length-bytes'"; return None; }
                    args = args with { MaxLengthBytes = maxBytes };
                    break;
                case "x-overflow":
                    string? overflow = AsString(value);
                    if (overflow == "drop-head") args = args with { Overflow = QueueOverflow.DropHead };
                    else if (overflow == "reject-publish") args = args with { Overflow = QueueOverflow.RejectPublish };
                    else { error = "invalid arg 'x-overflow'"; return None; }
                    break;
                case "x-dead-letter-exchange":
                    args = args with { DeadLetterExchange = AsString(value) ?? "" };
                    break;
                case "x-dead-letter-routing-key":
                    args = args with { DeadLetterRoutingKey = AsString(value) };
                    break;
                case "x-max-priority":
                    if (!TryLong(value, out long priority) || priority < 0 || priority > 255) { error = "invalid arg 'x-max-priority'"; return None; }
                    args = args with { MaxPriority = (int)priority };
                    break;
                case "x-single-active-consumer":
                    if (value is not bool sac) { error = "invalid arg 'x-single-active-consumer'"; return None; }
                    args = args with { SingleActiveConsumer = sac };
                    break;
                case "x-queue-type":
                    switch (AsString(value))
                    {
                        case "classic": args = args with { Type = QueueType.Classic, TypeGiven = true }; break;
                        case "quorum": args = args with { Type = QueueType.Quorum, TypeGiven = true }; break;
                        case "stream": error = "invalid arg 'x-queue-type': stream queues are not supported by Ferry (use a Kafka topic, or a quorum queue)"; return None;
                        case var other: error = $"invalid arg 'x-queue-type': unknown queue type '{other ?? value?.ToString()}'"; return None;
                    }
                    break;
                case "x-delivery-limit":
                    if (!TryLong(value, out long limit) || limit < -1) { error = "invalid arg 'x-delivery-limit'"; return None; }
                    args = args with { DeliveryLimit = limit };
                    break;
                default:
                    break; // unknown arguments are kept but ignored, as RabbitMQ does
            }
        }

        return args;
    }

    public static bool TryLong(object? value, out long result)
    {
        switch (value)
        {
            case sbyte v: result = v; return true;
            case byte v: result = v; return true;
            case short v: result = v; return true;
            case ushort v: result = v; return true;
            case int v: result = v; return true;
            case uint v: result = v; return true;
            case long v: result = v; return true;
            default: result = 0; return false;
        }
    }

    public static string? AsString(object? value) => value switch
    {
        string s => s,
        byte[] b => System.Text.Encoding.UTF8.GetString(b),
        _ => null,
    };
}
