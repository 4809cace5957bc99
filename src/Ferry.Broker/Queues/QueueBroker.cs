using Ferry.Storage.Durability;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using Ferry.Broker.Cluster;
using Ferry.Broker.Exchanges;
using Ferry.Broker.Metadata;
using Ferry.Storage;
using Microsoft.Extensions.Logging;

namespace Ferry.Broker.Queues;

/// <summary>Where AMQP data lives and how queue logs are configured.</summary>
public sealed class QueueBrokerOptions
{
    /// <summary>The AMQP data directory, <c>&lt;data&gt;/amqp</c>.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>Options of every durable queue's log (no retention: a queue deletes by settlement).</summary>
    public LogOptions QueueLogOptions { get; init; } = new() { SegmentBytes = 16 << 20, RetentionMs = -1, RetentionBytes = -1, IndexIntervalBytes = 1 << 20 };

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Bytes of message buffers kept for reuse when no message holds them (default 64 MiB).</summary>
    public long MessagePoolBytes { get; init; } = 64L << 20;

    /// <summary>The vhost this broker serves (its quorum queues' topics carry a hash of it).</summary>
    public string VirtualHost { get; init; } = "/";

    /// <summary>The cluster quorum queues are replicated on; null: quorum queues are refused (406).</summary>
    public Quorum.QuorumQueueCluster? Quorum { get; init; }
}

/// <summary>Per-caller scratch lists for routing, reused so that a publish allocates nothing to route.</summary>
public sealed class RouteScratch
{
    internal readonly List<IBindingDestination> Destinations = [];
    internal readonly List<Exchange> Visited = [];

    public List<AmqpQueue> Queues { get; } = [];

    internal void Clear()
    {
        Destinations.Clear();
        Visited.Clear();
        Queues.Clear();
    }
}

/// <summary>
/// RabbitMQ's model in one place: exchanges, queues and bindings of the single vhost "/", their durable
/// definitions, routing, and dead-lettering. Every change to the topology takes <see cref="_lock"/> (one
/// place for metadata changes, which a replicated version will put behind consensus); publishes read the
/// concurrent dictionaries and each exchange's immutable routing table without it.
/// </summary>
public sealed partial class QueueBroker : IAsyncDisposable
{
    private static readonly string[] BuiltInExchanges = ["amq.direct", "amq.fanout", "amq.topic", "amq.headers", "amq.match"];

    private readonly Lock _lock = new();
    private readonly ConcurrentDictionary<string, Exchange> _exchanges = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, AmqpQueue> _queues = new(StringComparer.Ordinal);
    private readonly QueueBrokerOptions _options;
    private readonly IMessageContentCodec _codec;
    private readonly ILogger _logger;
    private readonly List<Task> _pendingDeletes = [];
    private readonly TaskCompletionSource _loadedSignal = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _nextQueueId = 1;
    private bool _loaded;
    private int _closed;

    public QueueBroker(QueueBrokerOptions options, IMessageContentCodec codec, ILogger<QueueBroker> logger)
    {
        _options = options;
        _codec = codec;
        _logger = logger;
        Messages = new MessagePool(options.MessagePoolBytes);
    }

    public IMessageContentCodec Codec => _codec;

    /// <summary>Where every message this broker holds comes from and goes back to.</summary>
    public MessagePool Messages { get; }

    /// <summary>Completes once <see cref="Load"/> has run: connections wait for it before serving.</summary>
    public Task Loaded => _loadedSignal.Task;

    private string DefinitionsPath => Path.Combine(_options.DataDirectory, "definitions.json");

    private string QueueDirectory(long id) => Path.Combine(_options.DataDirectory, "queues", id.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Predeclares the built-in exchanges and loads the durable definitions and queues.</summary>
    public void Load()
    {
        try
        {
            LoadDefinitions();
            _loadedSignal.TrySetResult();
        }
        catch (Exception ex)
        {
            _loadedSignal.TrySetException(ex);
            throw;
        }
    }

    private void LoadDefinitions()
    {
        lock (_lock)
        {
            if (_loaded) return;
            _loaded = true;
            FileSync.CreateDirectory(_options.DataDirectory);
            foreach (string name in BuiltInExchanges)
            {
                var type = name switch
                {
                    "amq.direct" => ExchangeType.Direct,
                    "amq.fanout" => ExchangeType.Fanout,
                    "amq.topic" => ExchangeType.Topic,
                    _ => ExchangeType.Headers,
                };
                _exchanges[name] = new Exchange(name, type, durable: true, autoDelete: false, isInternal: false, null, _codec.EncodeTable(null));
            }

            byte[]? bytes = DurableFile.ReadAllBytes(DefinitionsPath);
            if (bytes is null) return;
            var definitions = JsonSerializer.Deserialize(bytes, AmqpDefinitionsJsonContext.Default.AmqpDefinitions) ?? new AmqpDefinitions();
            _nextQueueId = definitions.NextQueueId;
            foreach (var x in definitions.Exchanges)
            {
                if (_exchanges.ContainsKey(x.Name) || !ExchangeTypes.TryParse(x.Type, out var type)) continue;
                _exchanges[x.Name] = new Exchange(x.Name, type, true, x.AutoDelete, x.Internal, _codec.DecodeTable(x.Arguments), x.Arguments);
            }

            foreach (var q in definitions.Queues)
            {
                var raw = _codec.DecodeTable(q.Arguments);
                var arguments = QueueArguments.Parse(raw, out _);
                if (arguments.Type == QueueType.Quorum)
                {
                    // Its messages are in its replicated log: unavailable until this node's role in it is known.
                    _queues[q.Name] = Placeholder(q.Name, raw, q.Arguments, PartitionState.NoLeader);
                    continue;
                }

                var recovered = new List<RecoveredMessage>();
                var store = QueueStore.Open(QueueDirectory(q.Id), _options.QueueLogOptions, _options.Time, _logger, _codec, Messages, recovered);
                var queue = new AmqpQueue(this, q.Name, q.Id, true, false, q.AutoDelete, null, arguments, raw, q.Arguments, store, _options.Time);
                queue.Restore(recovered);
                _queues[q.Name] = queue;
                Log.QueueRecovered(_logger, q.Name, recovered.Count);
            }

            foreach (var b in definitions.Bindings)
            {
                if (!_exchanges.TryGetValue(b.Source, out var source)) continue;
                IBindingDestination? destination = b.ToExchange
                    ? _exchanges.GetValueOrDefault(b.Destination)
                    : _queues.GetValueOrDefault(b.Destination);
                if (destination is null) continue;
                AddBindingLocked(source, destination, b.RoutingKey, _codec.DecodeTable(b.Arguments), b.Arguments);
            }
        }
    }

    public bool TryGetQueue(string name, out AmqpQueue queue) => _queues.TryGetValue(name, out queue!);

    /// <summary>Every queue now (a snapshot-free view: the admin API and metrics enumerate it).</summary>
    public IEnumerable<AmqpQueue> Queues => _queues.Values;

    /// <summary>Every exchange, the built-in ones included.</summary>
    public IEnumerable<Exchange> Exchanges => _exchanges.Values;

    /// <summary>A copy of every binding, taken under the topology lock so that it is consistent.</summary>
    public IReadOnlyList<Binding> SnapshotBindings()
    {
        lock (_lock) return _exchanges.Values.SelectMany(x => x.Bindings).ToList();
    }

    public bool TryGetExchange(string name, out Exchange exchange) => _exchanges.TryGetValue(name, out exchange!);

    // ---------------------------------------------------------------- exchanges

    public BrokerResult DeclareExchange(string name, string typeName, bool passive, bool durable, bool autoDelete,
        bool isInternal, IReadOnlyDictionary<string, object?>? arguments)
    {
        if (name.Length == 0)
        {
            // The default exchange exists and cannot be redeclared other than passively.
            return passive ? BrokerResult.Ok : BrokerResult.Fail(403, "ACCESS_REFUSED - operation not permitted on the default exchange");
        }

        lock (_lock)
        {
            if (_exchanges.TryGetValue(name, out var existing))
            {
                if (passive) return BrokerResult.Ok;
                string current = ExchangeTypes.ToName(existing.Type);
                if (current != typeName) return Inequivalent("type", name, typeName, current);
                if (existing.Durable != durable) return Inequivalent("durable", name, durable, existing.Durable);
                if (existing.AutoDelete != autoDelete) return Inequivalent("auto_delete", name, autoDelete, existing.AutoDelete);
                if (existing.Internal != isInternal) return Inequivalent("internal", name, isInternal, existing.Internal);
                return BrokerResult.Ok;
            }

            if (passive) return BrokerResult.Fail(404, $"NOT_FOUND - no exchange '{name}' in vhost '/'");
            if (name.StartsWith("amq.", StringComparison.Ordinal))
            {
                return BrokerResult.Fail(403, $"ACCESS_REFUSED - exchange name '{name}' contains reserved prefix 'amq.*'");
            }

            if (!ExchangeTypes.TryParse(typeName, out var type))
            {
                return BrokerResult.Fail(503, $"COMMAND_INVALID - unknown exchange type '{typeName}'");
            }

            var exchange = new Exchange(name, type, durable, autoDelete, isInternal, arguments, _codec.EncodeTable(Copy(arguments)));
            _exchanges[name] = exchange;
            if (durable) SaveLocked();
            return BrokerResult.Ok;
        }
    }

    private static BrokerResult Inequivalent(string what, string name, object received, object current) =>
        BrokerResult.Fail(406, $"PRECONDITION_FAILED - inequivalent arg '{what}' for exchange '{name}' in vhost '/': received '{received}' but current is '{current}'");

    public BrokerResult DeleteExchange(string name, bool ifUnused)
    {
        if (name.Length == 0 || name.StartsWith("amq.", StringComparison.Ordinal))
        {
            return BrokerResult.Fail(403, $"ACCESS_REFUSED - operation not permitted on exchange '{name}'");
        }

        lock (_lock)
        {
            if (!_exchanges.TryGetValue(name, out var exchange)) return BrokerResult.Ok;
            if (ifUnused && exchange.Bindings.Count > 0) return BrokerResult.Fail(406, $"PRECONDITION_FAILED - exchange '{name}' in vhost '/' in use");
            DeleteExchangeLocked(exchange);
            if (exchange.Durable) SaveLocked();
            return BrokerResult.Ok;
        }
    }

    private void DeleteExchangeLocked(Exchange exchange)
    {
        _exchanges.TryRemove(exchange.Name, out _);
        foreach (var binding in exchange.Bindings.ToArray()) RemoveBindingLocked(binding, autoDelete: false);
        // Bindings into this exchange from others (exchange-to-exchange) go too.
        foreach (var other in _exchanges.Values)
        {
            foreach (var binding in other.Bindings.ToArray())
            {
                if (ReferenceEquals(binding.Destination, exchange)) RemoveBindingLocked(binding, autoDelete: true);
            }
        }
    }

    // ---------------------------------------------------------------- bindings

    public BrokerResult Bind(string source, string destination, bool toExchange, string routingKey,
        IReadOnlyDictionary<string, object?>? arguments, string owner)
    {
        lock (_lock)
        {
            var result = ResolveBindingLocked(source, destination, toExchange, owner, out var sourceExchange, out var target);
            if (!result.Succeeded) return result;
            byte[] encoded = _codec.EncodeTable(Copy(arguments));
            foreach (var existing in sourceExchange!.Bindings)
            {
                if (existing.SameAs(target!, routingKey, encoded)) return BrokerResult.Ok;
            }

            AddBindingLocked(sourceExchange, target!, routingKey, arguments, encoded);
            if (IsDurable(sourceExchange, target!)) SaveLocked();
            return BrokerResult.Ok;
        }
    }

    public BrokerResult Unbind(string source, string destination, bool toExchange, string routingKey,
        IReadOnlyDictionary<string, object?>? arguments, string owner)
    {
        lock (_lock)
        {
            var result = ResolveBindingLocked(source, destination, toExchange, owner, out var sourceExchange, out var target);
            if (!result.Succeeded) return result.Code == 404 ? BrokerResult.Ok : result;
            byte[] encoded = _codec.EncodeTable(Copy(arguments));
            foreach (var existing in sourceExchange!.Bindings)
            {
                if (!existing.SameAs(target!, routingKey, encoded)) continue;
                RemoveBindingLocked(existing, autoDelete: true);
                if (IsDurable(sourceExchange, target!)) SaveLocked();
                break;
            }

            return BrokerResult.Ok;
        }
    }

    private BrokerResult ResolveBindingLocked(string source, string destination, bool toExchange, string owner,
        out Exchange? sourceExchange, out IBindingDestination? target)
    {
        sourceExchange = null;
        target = null;
        if (source.Length == 0 || (toExchange && destination.Length == 0))
        {
            return BrokerResult.Fail(403, "ACCESS_REFUSED - operation not permitted on the default exchange");
        }

        if (!_exchanges.TryGetValue(source, out sourceExchange))
        {
            return BrokerResult.Fail(404, $"NOT_FOUND - no exchange '{source}' in vhost '/'");
        }

        if (toExchange)
        {
            if (!_exchanges.TryGetValue(destination, out var x)) return BrokerResult.Fail(404, $"NOT_FOUND - no exchange '{destination}' in vhost '/'");
            target = x;
        }
        else
        {
            var found = FindQueueLocked(destination, owner, out var queue);
            if (!found.Succeeded) return found;
            target = queue;
        }

        return BrokerResult.Ok;
    }

    private static bool IsDurable(Exchange source, IBindingDestination destination) =>
        source.Durable && destination switch
        {
            Exchange x => x.Durable,
            AmqpQueue q => q.Durable && !q.Exclusive,
            _ => false,
        };

    private static void AddBindingLocked(Exchange source, IBindingDestination destination, string routingKey,
        IReadOnlyDictionary<string, object?>? arguments, byte[] encoded)
    {
        var binding = new Binding(source, destination, routingKey, arguments, encoded);
        source.Bindings.Add(binding);
        source.Rebuild();
        if (destination is AmqpQueue queue) queue.IncomingBindings.Add(binding);
        else if (destination is Exchange x) x.IncomingBindingCount++;
    }

    private void RemoveBindingLocked(Binding binding, bool autoDelete)
    {
        var source = binding.Source;
        source.Bindings.Remove(binding);
        source.Rebuild();
        if (binding.Destination is AmqpQueue queue) queue.IncomingBindings.Remove(binding);
        else if (binding.Destination is Exchange x) x.IncomingBindingCount--;
        if (autoDelete && source.AutoDelete && source.Bindings.Count == 0 && _exchanges.ContainsKey(source.Name))
        {
            DeleteExchangeLocked(source);
        }
    }

    // ---------------------------------------------------------------- queues

    /// <summary>queue.declare: creates, redeclares (equivalence), or with passive only checks.</summary>
    public BrokerResult DeclareQueue(string name, bool passive, bool durable, bool exclusive, bool autoDelete,
        IReadOnlyDictionary<string, object?>? arguments, string owner, out AmqpQueue? queue)
    {
        queue = null;
        lock (_lock)
        {
            if (name.Length > 0 && _queues.TryGetValue(name, out var existing))
            {
                if (existing.Exclusive && existing.Owner != owner)
                {
                    return BrokerResult.Fail(405, $"RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '{name}' in vhost '/'. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.");
                }

                if (!passive)
                {
                    if (existing.Durable != durable) return QueueInequivalent("durable", name, durable, existing.Durable);
                    if (existing.Exclusive != exclusive) return QueueInequivalent("exclusive", name, exclusive, existing.Exclusive);
                    if (existing.AutoDelete != autoDelete) return QueueInequivalent("auto_delete", name, autoDelete, existing.AutoDelete);
                    var parsed = QueueArguments.Parse(arguments, out string? error);
                    if (error is not null) return BrokerResult.Fail(406, "PRECONDITION_FAILED - " + error);
                    if (parsed.TypeGiven && parsed.Type != existing.Arguments.Type)
                        return QueueInequivalent("x-queue-type", name, TypeName(parsed.Type), TypeName(existing.Arguments.Type));
                    if (!parsed.EquivalentTo(existing.Arguments)) return QueueInequivalent("x-arguments", name, "(new)", "(declared)");
                }

                existing.Touch();
                queue = existing;
                return BrokerResult.Ok;
            }

            if (passive) return BrokerResult.Fail(404, $"NOT_FOUND - no queue '{name}' in vhost '/'");
            if (name.StartsWith("amq.", StringComparison.Ordinal))
            {
                return BrokerResult.Fail(403, $"ACCESS_REFUSED - queue name '{name}' contains reserved prefix 'amq.*'");
            }

            var typed = QueueArguments.Parse(arguments, out string? parseError);
            if (parseError is not null) return BrokerResult.Fail(406, "PRECONDITION_FAILED - " + parseError);
            if (typed.DeadLetterExchange is null && typed.DeadLetterRoutingKey is not null)
            {
                return BrokerResult.Fail(406, "PRECONDITION_FAILED - invalid arg 'x-dead-letter-routing-key': Routing key but no dead letter exchange");
            }

            if (typed.Type != QueueType.Quorum)
            {
                queue = CreateClassicLocked(name, durable, exclusive, autoDelete, arguments, owner, typed);
                return BrokerResult.Ok;
            }

            if (CheckQuorum(name, durable, exclusive, autoDelete, typed) is { Succeeded: false } refused) return refused;
            if (name.Length == 0) return BrokerResult.Fail(406, "PRECONDITION_FAILED - a quorum queue needs a name (server-named queues are classic)");
        }

        // Outside the topology lock: the controller and the new leader are waited for (role changes take the lock).
        return DeclareQuorum(name, arguments, out queue);
    }

    private AmqpQueue CreateClassicLocked(string name, bool durable, bool exclusive, bool autoDelete,
        IReadOnlyDictionary<string, object?>? arguments, string owner, QueueArguments typed)
    {
        if (name.Length == 0) name = "amq.gen-" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(16)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        bool persisted = durable && !exclusive;
        long id = persisted ? _nextQueueId++ : 0;
        byte[] encoded = _codec.EncodeTable(Copy(arguments));
        QueueStore? store = null;
        if (persisted)
        {
            var recovered = new List<RecoveredMessage>();
            string directory = QueueDirectory(id);
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true); // a leftover of a crashed delete
            store = QueueStore.Open(directory, _options.QueueLogOptions, _options.Time, _logger, _codec, Messages, recovered);
        }

        var queue = new AmqpQueue(this, name, id, durable, exclusive, autoDelete, exclusive ? owner : null, typed, arguments, encoded, store, _options.Time);
        _queues[name] = queue;
        if (persisted) SaveLocked();
        return queue;
    }

    private static string TypeName(QueueType type) => type == QueueType.Quorum ? "quorum" : "classic";

    /// <summary>
    /// What RabbitMQ refuses on a quorum queue, with its words: auto-delete, exclusive, non-durable (checked in that
    /// order, as <c>rabbit_quorum_queue</c> does), and <c>x-max-priority</c> (quorum queues have no priority levels to size).
    /// </summary>
    private static BrokerResult CheckQuorum(string name, bool durable, bool exclusive, bool autoDelete, QueueArguments arguments)
    {
        if (autoDelete) return BrokerResult.Fail(406, $"PRECONDITION_FAILED - invalid property 'auto-delete' for queue '{name}' in vhost '/'");
        if (exclusive) return BrokerResult.Fail(406, $"PRECONDITION_FAILED - invalid property 'exclusive-owner' for queue '{name}' in vhost '/'");
        if (!durable) return BrokerResult.Fail(406, $"PRECONDITION_FAILED - invalid property 'non-durable' for queue '{name}' in vhost '/'");
        if (arguments.MaxPriority > 0)
            return BrokerResult.Fail(406, $"PRECONDITION_FAILED - invalid arg 'x-max-priority' for queue '{name}' in vhost '/' of queue type quorum");
        return BrokerResult.Ok;
    }

    private static BrokerResult QueueInequivalent(string what, string name, object received, object current) =>
        BrokerResult.Fail(406, $"PRECONDITION_FAILED - inequivalent arg '{what}' for queue '{name}' in vhost '/': received '{received}' but current is '{current}'");

    /// <summary>A queue for consume, get, bind, purge: 404 when missing, 405 when another connection's exclusive queue.</summary>
    public BrokerResult FindQueue(string name, string owner, out AmqpQueue queue)
    {
        lock (_lock) return FindQueueLocked(name, owner, out queue);
    }

    private BrokerResult FindQueueLocked(string name, string owner, out AmqpQueue queue)
    {
        if (!_queues.TryGetValue(name, out queue!)) return BrokerResult.Fail(404, $"NOT_FOUND - no queue '{name}' in vhost '/'");
        if (queue.Exclusive && queue.Owner != owner)
        {
            return BrokerResult.Fail(405, $"RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '{name}' in vhost '/'");
        }

        return BrokerResult.Ok;
    }

    public BrokerResult DeleteQueue(string name, bool ifUnused, bool ifEmpty, string owner, out uint messageCount)
    {
        messageCount = 0;
        AmqpQueue queue;
        lock (_lock)
        {
            if (!_queues.TryGetValue(name, out queue!)) return BrokerResult.Ok;
            if (queue.Exclusive && queue.Owner != owner)
            {
                return BrokerResult.Fail(405, $"RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '{name}' in vhost '/'");
            }

            if (ifUnused && queue.HasConsumers) return BrokerResult.Fail(406, $"PRECONDITION_FAILED - queue '{name}' in vhost '/' in use");
            if (ifEmpty && queue.MessageCount > 0) return BrokerResult.Fail(406, $"PRECONDITION_FAILED - queue '{name}' in vhost '/' is not empty");
        }

        messageCount = DeleteQueueInternal(queue);
        return BrokerResult.Ok;
    }

    /// <summary>Removes a queue (delete, auto-delete, x-expires, exclusive owner gone) and tells its consumers.</summary>
    internal uint DeleteQueueInternal(AmqpQueue queue)
    {
        lock (_lock)
        {
            if (!_queues.TryGetValue(queue.Name, out var current) || !ReferenceEquals(current, queue)) return 0;
            _queues.TryRemove(queue.Name, out _);
            foreach (var binding in queue.IncomingBindings.ToArray()) RemoveBindingLocked(binding, autoDelete: true);
            if (queue.Durable && !queue.Exclusive) SaveLocked();
        }

        var (consumers, messages) = queue.MarkDeleted();
        foreach (var consumer in consumers) consumer.OnQueueDeleted(queue);
        if (queue.Arguments.Type == QueueType.Quorum) DeleteQuorumTopic(queue);
        var deletion = DeleteStoreAsync(queue);
        lock (_pendingDeletes)
        {
            _pendingDeletes.RemoveAll(t => t.IsCompleted);
            _pendingDeletes.Add(deletion);
        }

        Log.QueueDeleted(_logger, queue.Name);
        return messages;
    }

    private async Task DeleteStoreAsync(AmqpQueue queue)
    {
        try
        {
            await queue.DeleteStoreAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            Log.QueueStoreDeleteFailed(_logger, queue.Name, ex);
        }
    }

    public BrokerResult Purge(string name, string owner, out uint count)
    {
        count = 0;
        var found = FindQueue(name, owner, out var queue);
        if (!found.Succeeded) return found;
        count = queue.Purge();
        return BrokerResult.Ok;
    }

    /// <summary>A connection closed: its exclusive queues go.</summary>
    public void ConnectionClosed(string owner)
    {
        List<AmqpQueue> owned;
        lock (_lock) owned = _queues.Values.Where(q => q.Exclusive && q.Owner == owner).ToList();
        foreach (var queue in owned) DeleteQueueInternal(queue);
    }

    // ---------------------------------------------------------------- routing

    /// <summary>
    /// Routes a message: the queues it goes to end up in <paramref name="scratch"/>. False when the exchange
    /// does not exist (404 to the publisher). An exchange that routes nowhere hands the message to its
    /// alternate-exchange, if any.
    /// </summary>
    public bool Route(string exchangeName, string routingKey, AmqpMessage message, RouteScratch scratch)
    {
        scratch.Clear();
        if (exchangeName.Length == 0)
        {
            if (_queues.TryGetValue(routingKey, out var direct)) scratch.Queues.Add(direct);
            return true;
        }

        if (!_exchanges.TryGetValue(exchangeName, out var exchange)) return false;
        RouteFrom(exchange, routingKey, message, scratch);
        while (scratch.Queues.Count == 0 && exchange.AlternateExchange is { } alternate
            && _exchanges.TryGetValue(alternate, out var next) && !scratch.Visited.Contains(next))
        {
            exchange = next;
            RouteFrom(exchange, routingKey, message, scratch);
        }

        return true;
    }

    private void RouteFrom(Exchange exchange, string routingKey, AmqpMessage message, RouteScratch scratch)
    {
        int start = scratch.Destinations.Count;
        scratch.Visited.Add(exchange);
        exchange.Match(routingKey, message, _codec, scratch.Destinations);
        // Exchange-to-exchange bindings: follow each exchange once (cycles are allowed in RabbitMQ's model).
        for (int i = start; i < scratch.Destinations.Count; i++)
        {
            switch (scratch.Destinations[i])
            {
                case AmqpQueue queue:
                    if (!scratch.Queues.Contains(queue)) scratch.Queues.Add(queue);
                    break;
                case Exchange next when !scratch.Visited.Contains(next):
                    scratch.Visited.Add(next);
                    next.Match(routingKey, message, _codec, scratch.Destinations);
                    break;
            }
        }
    }

    public bool ExchangeIsInternal(string name) => _exchanges.TryGetValue(name, out var x) && x.Internal;

    /// <summary>Republishes a message that died in <paramref name="queue"/> to its dead-letter exchange.</summary>
    internal void DeadLetter(AmqpQueue queue, AmqpMessage message, string reason)
    {
        string? exchange = queue.Arguments.DeadLetterExchange;
        if (exchange is null) return;
        string routingKey = queue.Arguments.DeadLetterRoutingKey ?? message.RoutingKey;
        byte[] properties = _codec.AddDeath(message, queue.Name, reason, _options.Time.GetUtcNow().ToUnixTimeSeconds());
        var dead = Messages.Rent(exchange, routingKey, properties.Length, message.BodySize, _codec.ReadInfo(properties));
        try
        {
            properties.CopyTo(dead.WritableContent);
            message.Body.Span.CopyTo(dead.WritableContent[properties.Length..]);
            var scratch = new RouteScratch();
            if (!Route(exchange, routingKey, dead, scratch)) return;
            foreach (var target in scratch.Queues)
            {
                // A queue dead-lettering into itself on expiry would cycle forever; RabbitMQ drops such a message too.
                if (ReferenceEquals(target, queue) && reason != "rejected") continue;
                target.Enqueue(dead, out _);
            }
        }
        finally
        {
            dead.Release();
        }
    }

    // ---------------------------------------------------------------- persistence

    private void SaveLocked()
    {
        var definitions = new AmqpDefinitions { NextQueueId = _nextQueueId };
        foreach (var x in _exchanges.Values)
        {
            if (!x.Durable || x.Name.StartsWith("amq.", StringComparison.Ordinal)) continue;
            definitions.Exchanges.Add(new ExchangeDefinition
            {
                Name = x.Name, Type = ExchangeTypes.ToName(x.Type), AutoDelete = x.AutoDelete, Internal = x.Internal, Arguments = x.EncodedArguments,
            });
            foreach (var b in x.Bindings)
            {
                if (!IsDurable(x, b.Destination)) continue;
                definitions.Bindings.Add(new BindingDefinition
                {
                    Source = x.Name, Destination = b.Destination.Name, ToExchange = b.Destination is Exchange,
                    RoutingKey = b.RoutingKey, Arguments = b.EncodedArguments,
                });
            }
        }

        foreach (var name in BuiltInExchanges)
        {
            foreach (var b in _exchanges[name].Bindings)
            {
                if (!IsDurable(b.Source, b.Destination)) continue;
                definitions.Bindings.Add(new BindingDefinition
                {
                    Source = name, Destination = b.Destination.Name, ToExchange = b.Destination is Exchange,
                    RoutingKey = b.RoutingKey, Arguments = b.EncodedArguments,
                });
            }
        }

        foreach (var q in _queues.Values)
        {
            if (!q.Durable || q.Exclusive) continue;
            definitions.Queues.Add(new QueueDefinition { Name = q.Name, Id = q.Id, AutoDelete = q.AutoDelete, Arguments = q.EncodedArguments });
        }

        DurableFile.WriteAllBytes(DefinitionsPath, JsonSerializer.SerializeToUtf8Bytes(definitions, AmqpDefinitionsJsonContext.Default.AmqpDefinitions));
    }

    private static Dictionary<string, object?>? Copy(IReadOnlyDictionary<string, object?>? table) =>
        table is null ? null : new Dictionary<string, object?>(table, StringComparer.Ordinal);

    /// <summary>
    /// Clean close: every durable queue's log and ack file flushed (the logs leave their clean marker). Once only:
    /// the AMQP hosted service closes the broker at stop, then the service container disposes it again.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0) return;
        StopQuorumQueues();
        await _quorumSweep.ConfigureAwait(false);
        Task[] deletes;
        lock (_pendingDeletes) deletes = [.. _pendingDeletes];
        await Task.WhenAll(deletes).ConfigureAwait(false);
        foreach (var queue in _queues.Values)
        {
            try
            {
                await queue.CloseStoreAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException)
            {
                Log.QueueStoreCloseFailed(_logger, queue.Name, ex);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6001, Level = LogLevel.Information, Message = "Recovered queue {Queue} with {Count} ready messages")]
        public static partial void QueueRecovered(ILogger logger, string queue, int count);

        [LoggerMessage(EventId = 6002, Level = LogLevel.Debug, Message = "Deleted queue {Queue}")]
        public static partial void QueueDeleted(ILogger logger, string queue);

        [LoggerMessage(EventId = 6003, Level = LogLevel.Warning, Message = "Could not delete the files of queue {Queue}")]
        public static partial void QueueStoreDeleteFailed(ILogger logger, string queue, Exception exception);

        [LoggerMessage(EventId = 6004, Level = LogLevel.Error, Message = "Could not close the files of queue {Queue}")]
        public static partial void QueueStoreCloseFailed(ILogger logger, string queue, Exception exception);
    }
}
