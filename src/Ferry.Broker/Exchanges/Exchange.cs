using Ferry.Broker.Queues;

namespace Ferry.Broker.Exchanges;

/// <summary>
/// An exchange and its outgoing bindings. Bindings change under the broker's metadata lock, which then
/// publishes a fresh immutable <see cref="RoutingTable"/>; publishes read the current table without locks.
/// </summary>
public sealed class Exchange : IBindingDestination
{
    private readonly List<Binding> _bindings = [];
    private volatile RoutingTable _table;

    public Exchange(string name, ExchangeType type, bool durable, bool autoDelete, bool isInternal,
        IReadOnlyDictionary<string, object?>? arguments, byte[] encodedArguments)
    {
        Name = name;
        Type = type;
        Durable = durable;
        AutoDelete = autoDelete;
        Internal = isInternal;
        Arguments = arguments;
        EncodedArguments = encodedArguments;
        AlternateExchange = QueueArguments.AsString(arguments?.GetValueOrDefault("alternate-exchange"));
        _table = RoutingTable.Build(type, _bindings);
    }

    public string Name { get; }

    public ExchangeType Type { get; }

    public bool Durable { get; }

    public bool AutoDelete { get; }

    public bool Internal { get; }

    public IReadOnlyDictionary<string, object?>? Arguments { get; }

    public byte[] EncodedArguments { get; }

    public string? AlternateExchange { get; }

    /// <summary>Bindings whose source is this exchange; read and changed under the broker's metadata lock.</summary>
    internal List<Binding> Bindings => _bindings;

    /// <summary>Exchanges and queues that bind to this exchange as destination (for if-unused and deletes).</summary>
    internal int IncomingBindingCount { get; set; }

    internal void Rebuild() => _table = RoutingTable.Build(Type, _bindings);

    /// <summary>Adds the destinations the message goes to (deduplicated) to <paramref name="result"/>.</summary>
    public void Match(string routingKey, AmqpMessage message, IMessageContentCodec codec, List<IBindingDestination> result) =>
        _table.Match(routingKey, message, codec, result);
}

/// <summary>The immutable routing structure of one exchange type.</summary>
internal abstract class RoutingTable
{
    public abstract void Match(string routingKey, AmqpMessage message, IMessageContentCodec codec, List<IBindingDestination> result);

    public static RoutingTable Build(ExchangeType type, List<Binding> bindings) => type switch
    {
        ExchangeType.Direct => new DirectTable(bindings),
        ExchangeType.Fanout => new FanoutTable(bindings),
        ExchangeType.Topic => new TopicTable(bindings),
        _ => new HeadersTable(bindings),
    };

    protected static void AddDistinct(List<IBindingDestination> result, IBindingDestination destination)
    {
        if (!result.Contains(destination)) result.Add(destination);
    }

    private sealed class DirectTable : RoutingTable
    {
        private readonly Dictionary<string, IBindingDestination[]> _byKey = new(StringComparer.Ordinal);

        public DirectTable(List<Binding> bindings)
        {
            foreach (var group in bindings.GroupBy(b => b.RoutingKey))
            {
                _byKey[group.Key] = group.Select(b => b.Destination).Distinct().ToArray();
            }
        }

        public override void Match(string routingKey, AmqpMessage message, IMessageContentCodec codec, List<IBindingDestination> result)
        {
            if (!_byKey.TryGetValue(routingKey, out var destinations)) return;
            foreach (var destination in destinations) AddDistinct(result, destination);
        }
    }

    private sealed class FanoutTable(List<Binding> bindings) : RoutingTable
    {
        private readonly IBindingDestination[] _all = bindings.Select(b => b.Destination).Distinct().ToArray();

        public override void Match(string routingKey, AmqpMessage message, IMessageContentCodec codec, List<IBindingDestination> result)
        {
            foreach (var destination in _all) AddDistinct(result, destination);
        }
    }

    private sealed class TopicTable : RoutingTable
    {
        private readonly TopicTrie _trie = new();

        public TopicTable(List<Binding> bindings)
        {
            foreach (var binding in bindings) _trie.Add(binding.RoutingKey, binding.Destination);
        }

        public override void Match(string routingKey, AmqpMessage message, IMessageContentCodec codec, List<IBindingDestination> result) =>
            _trie.Match(routingKey, result);
    }

    /// <summary>
    /// Headers exchange: a binding's arguments other than <c>x-</c> ones are compared with the message's
    /// headers; <c>x-match</c> <c>all</c> (default) needs every one, <c>any</c> at least one. A binding value
    /// of void only asks for the header to be present.
    /// </summary>
    private sealed class HeadersTable(List<Binding> bindings) : RoutingTable
    {
        private readonly Binding[] _bindings = bindings.ToArray();

        public override void Match(string routingKey, AmqpMessage message, IMessageContentCodec codec, List<IBindingDestination> result)
        {
            if (_bindings.Length == 0) return;
            var headers = message.GetHeaders(codec);
            foreach (var binding in _bindings)
            {
                if (Matches(binding.Arguments, headers)) AddDistinct(result, binding.Destination);
            }
        }

        private static bool Matches(IReadOnlyDictionary<string, object?>? arguments, IReadOnlyDictionary<string, object?>? headers)
        {
            string mode = QueueArguments.AsString(arguments?.GetValueOrDefault("x-match")) ?? "all";
            bool any = mode.StartsWith("any", StringComparison.Ordinal);
            bool withX = mode.EndsWith("-with-x", StringComparison.Ordinal);
            int considered = 0, matched = 0;
            if (arguments is not null)
            {
                foreach (var (key, expected) in arguments)
                {
                    if (key.StartsWith("x-", StringComparison.Ordinal) && (!withX || key == "x-match")) continue;
                    considered++;
                    if (headers is not null && headers.TryGetValue(key, out var actual)
                        && (expected is null || ValuesEqual(expected, actual)))
                    {
                        matched++;
                    }
                }
            }

            return any ? matched > 0 : matched == considered;
        }

        private static bool ValuesEqual(object expected, object? actual)
        {
            if (actual is null) return false;
            if (QueueArguments.TryLong(expected, out long a) && QueueArguments.TryLong(actual, out long b)) return a == b;
            if (expected is byte[] or string && actual is byte[] or string)
            {
                return QueueArguments.AsString(expected) == QueueArguments.AsString(actual);
            }

            return expected.Equals(actual);
        }
    }
}
