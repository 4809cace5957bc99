using Ferry.Broker.Diagnostics;
using Ferry.Broker.Exchanges;

namespace Ferry.Broker.Queues;

public enum EnqueueOutcome
{
    Accepted,
    /// <summary>x-overflow reject-publish and the queue is full: a publisher confirm nacks it.</summary>
    Rejected,
}

/// <summary>
/// A queue: ready messages in memory (per priority level), the consumers it pushes to, and for a durable
/// queue the <see cref="QueueStore"/> that holds its persistent messages.
/// </summary>
/// <remarks>
/// <para>Every state change happens under <see cref="_lock"/>. Deliveries are made under it too, into the
/// consumer's channel (which takes its own lock and queues frames for the connection's writer): lock order
/// queue → channel, never the reverse. Dead letters are collected under the lock and published after it is
/// released, so that a dead-letter cycle between queues cannot deadlock.</para>
/// <para>Unacknowledged messages are held by the channels that received them; the queue only counts them.</para>
/// <para>Each entry holds a reference to its message (<see cref="AmqpMessage.Retain"/>), taken at enqueue and
/// handed on with the entry: to the consumer's channel at delivery, back at requeue. Whatever ends an entry
/// (ack, no-ack delivery, drop, expiry, purge, deletion, dead-lettering once republished) releases it.</para>
/// </remarks>
public sealed class AmqpQueue : IBindingDestination
{
    private readonly Lock _lock = new();
    private readonly QueueBroker _broker;
    private readonly EntryDeque[] _ready;
    private readonly List<QueueConsumer> _consumers = [];
    private readonly List<(QueueEntry Entry, string Reason)> _deadLetters = [];
    private readonly List<long> _settleScratch = [];
    private readonly List<long> _deliveredScratch = [];
    private readonly TimeProvider _time;
    private readonly ITimer _ttlTimer;
    private readonly ITimer? _expiresTimer;
    private readonly IQueueLog? _store;
    /// <summary>A quorum queue's publishes written but not yet committed: delivered once they are (<see cref="PumpCommitsAsync"/>).</summary>
    private readonly EntryDeque _uncommitted = new();
    private bool _pumping;
    private long _ttlDue = long.MaxValue;
    private long _readyCount;
    private long _readyBytes;
    private long _unacked;
    private int _next;
    private bool _hadConsumer;
    private bool _deleted;
    private long _lastUsed;

    internal AmqpQueue(QueueBroker broker, string name, long id, bool durable, bool exclusive, bool autoDelete,
        string? owner, QueueArguments arguments, IReadOnlyDictionary<string, object?>? rawArguments,
        byte[] encodedArguments, IQueueLog? store, TimeProvider time, string? unavailable = null)
    {
        _broker = broker;
        Name = name;
        Id = id;
        Durable = durable;
        Exclusive = exclusive;
        AutoDelete = autoDelete;
        Owner = owner;
        Arguments = arguments;
        RawArguments = rawArguments;
        EncodedArguments = encodedArguments;
        _store = store;
        _time = time;
        Unavailable = unavailable;
        _ready = new EntryDeque[Math.Max(1, arguments.MaxPriority + 1)];
        for (int i = 0; i < _ready.Length; i++) _ready[i] = new EntryDeque();
        _ttlTimer = time.CreateTimer(static s => ((AmqpQueue)s!).OnTtlTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _lastUsed = Now;
        if (arguments.ExpiresMs > 0)
        {
            _expiresTimer = time.CreateTimer(static s => ((AmqpQueue)s!).OnExpiresTimer(), this,
                TimeSpan.FromMilliseconds(arguments.ExpiresMs), Timeout.InfiniteTimeSpan);
        }
    }

    public string Name { get; }

    /// <summary>Durable queues' directory name under amqp/queues (names may hold any character).</summary>
    public long Id { get; }

    public bool Durable { get; }

    public bool Exclusive { get; }

    public bool AutoDelete { get; }

    /// <summary>The connection owning an exclusive queue.</summary>
    public string? Owner { get; }

    public QueueArguments Arguments { get; }

    /// <summary>
    /// Set on a quorum queue this node knows but does not lead: the channel error to answer consume and get with.
    /// Publishes routed to it are refused (a nack with confirms), never dropped as if delivered.
    /// </summary>
    public string? Unavailable { get; }

    public IReadOnlyDictionary<string, object?>? RawArguments { get; }

    public byte[] EncodedArguments { get; }

    internal List<Binding> IncomingBindings { get; } = [];

    public bool IsDeleted => Volatile.Read(ref _deleted);

    private long Now => _time.GetUtcNow().ToUnixTimeMilliseconds();

    public uint MessageCount
    {
        get { lock (_lock) return (uint)Math.Min(_readyCount + _uncommitted.Count, uint.MaxValue); }
    }

    public uint ConsumerCount
    {
        get { lock (_lock) return (uint)_consumers.Count; }
    }

    public long UnackedCount => Interlocked.Read(ref _unacked);

    /// <summary>Messages and bytes (bodies) published to and delivered from this queue (metrics and admin rates).</summary>
    public TrafficCounters Traffic { get; } = new();

    internal long StoreSizeInBytes => _store?.SizeInBytes ?? 0;

    internal int StoreSegmentCount => _store?.SegmentCount ?? 0;

    internal IQueueLog? Store => _store;

    /// <summary>Puts a quorum queue's recovered messages back (its new leader's state), each with its delivery count.</summary>
    internal void Restore(List<(RecoveredMessage Message, int DeliveryCount)> recovered, Quorum.QuorumQueueLog log)
    {
        var messages = new List<RecoveredMessage>(recovered.Count);
        foreach (var (message, count) in recovered)
        {
            log.SetDeliveryCount(message.Offset, count);
            messages.Add(count > 0 ? message with { Message = WithDeliveryCount(message.Message, count) } : message);
        }
        Restore(messages);
    }

    /// <summary>Puts recovered messages back at start-up, in log order.</summary>
    internal void Restore(List<RecoveredMessage> recovered)
    {
        lock (_lock)
        {
            foreach (var (message, offset, timestamp, delivered) in recovered)
            {
                PushReady(new QueueEntry(message, offset, ExpiresAt(message, timestamp), delivered));
            }

            ScheduleTtlLocked();
        }
    }

    /// <summary>
    /// Takes a routed message (and a reference to it, when accepted). <paramref name="durableEnd"/> is the
    /// log offset to wait for before confirming (-1 when nothing was written to disk).
    /// </summary>
    public EnqueueOutcome Enqueue(AmqpMessage message, out long durableEnd)
    {
        durableEnd = -1;
        lock (_lock)
        {
            if (_deleted) return EnqueueOutcome.Accepted;
            if (Unavailable is not null) return EnqueueOutcome.Rejected;
            if (_store is { Replicated: true }) return EnqueueReplicatedLocked(message, out durableEnd);
            if (Arguments.Overflow == QueueOverflow.RejectPublish && IsFullLocked(message.BodySize)) return EnqueueOutcome.Rejected;
            long now = Now;
            long offset = -1;
            if (_store is not null && message.Info.Persistent)
            {
                offset = _store.Append(message, now);
                durableEnd = offset + 1;
            }

            message.Retain();
            PushReady(new QueueEntry(message, offset, ExpiresAt(message, now), false));
            Traffic.AddIn(1, message.BodySize);
            if (Arguments.Overflow == QueueOverflow.DropHead)
            {
                while (_readyCount > 0 && IsOverLocked()) DropLocked(PopReady(), "maxlen");
            }

            DrainLocked(now);
            ScheduleTtlLocked();
        }

        FlushDeadLetters();
        return EnqueueOutcome.Accepted;
    }

    /// <summary>
    /// A quorum queue's publish: written to its log (every message, as RabbitMQ's quorum queues keep them all) and held
    /// back from consumers until committed, so that no consumer sees a message a failover could take back.
    /// </summary>
    private EnqueueOutcome EnqueueReplicatedLocked(AmqpMessage message, out long durableEnd)
    {
        durableEnd = -1;
        if (Arguments.Overflow == QueueOverflow.RejectPublish && IsFullLocked(message.BodySize)) return EnqueueOutcome.Rejected;
        long now = Now;
        long offset;
        try
        {
            offset = _store!.Append(message, now);
        }
        catch (QueueLogUnavailableException)
        {
            return EnqueueOutcome.Rejected;
        }

        durableEnd = offset + 1;
        message.Retain();
        _uncommitted.PushTail(new QueueEntry(message, offset, ExpiresAt(message, now), false));
        Traffic.AddIn(1, message.BodySize);
        if (!_pumping)
        {
            _pumping = true;
            _ = PumpCommitsAsync();
        }

        return EnqueueOutcome.Accepted;
    }

    /// <summary>
    /// Moves committed publishes to the ready list, a batch at a time: waits for the newest written, then takes every one
    /// up to it. Ends when nothing waits, or when the log can no longer commit (leadership lost: the next leader has them).
    /// </summary>
    private async Task PumpCommitsAsync()
    {
        while (true)
        {
            long last;
            lock (_lock)
            {
                if (_uncommitted.Count == 0 || _deleted)
                {
                    _pumping = false;
                    return;
                }

                last = _uncommitted.PeekTail().Offset;
            }

            try
            {
                await _store!.WaitForDurableAsync(last + 1).ConfigureAwait(false);
            }
            catch (Exception e) when (e is QueueLogUnavailableException or ObjectDisposedException or IOException)
            {
                lock (_lock) _pumping = false;
                return;
            }

            lock (_lock)
            {
                if (_deleted) continue;
                while (_uncommitted.Count > 0 && _uncommitted.PeekHead().Offset <= last) PushReady(_uncommitted.PopHead());
                if (Arguments.Overflow == QueueOverflow.DropHead)
                {
                    while (_readyCount > 0 && IsOverLocked()) DropLocked(PopReady(), "maxlen");
                }

                DrainLocked(Now);
                ScheduleTtlLocked();
            }

            FlushDeadLetters();
        }
    }

    public Task WaitForDurableAsync(long endOffset) => _store?.WaitForDurableAsync(endOffset) ?? Task.CompletedTask;

    private bool IsFullLocked(int incomingBytes) =>
        (Arguments.MaxLength >= 0 && _readyCount >= Arguments.MaxLength)
        || (Arguments.MaxLengthBytes >= 0 && _readyBytes + incomingBytes > Arguments.MaxLengthBytes);

    private bool IsOverLocked() =>
        (Arguments.MaxLength >= 0 && _readyCount > Arguments.MaxLength)
        || (Arguments.MaxLengthBytes >= 0 && _readyBytes > Arguments.MaxLengthBytes);

    private long ExpiresAt(AmqpMessage message, long enqueuedAt)
    {
        long ttl = Arguments.MessageTtlMs;
        long perMessage = message.Info.ExpirationMs;
        if (perMessage >= 0 && (ttl < 0 || perMessage < ttl)) ttl = perMessage;
        return ttl < 0 ? long.MaxValue : enqueuedAt + ttl;
    }

    private void PushReady(in QueueEntry entry)
    {
        int level = Math.Min(entry.Message.Info.Priority, _ready.Length - 1);
        _ready[level].PushTail(entry);
        _readyCount++;
        _readyBytes += entry.Message.BodySize;
    }

    private void PushReadyHead(in QueueEntry entry)
    {
        int level = Math.Min(entry.Message.Info.Priority, _ready.Length - 1);
        _ready[level].PushHead(entry);
        _readyCount++;
        _readyBytes += entry.Message.BodySize;
    }

    private EntryDeque? HighestNonEmpty()
    {
        for (int i = _ready.Length - 1; i >= 0; i--)
        {
            if (_ready[i].Count > 0) return _ready[i];
        }

        return null;
    }

    private QueueEntry PopReady()
    {
        var entry = HighestNonEmpty()!.PopHead();
        _readyCount--;
        _readyBytes -= entry.Message.BodySize;
        return entry;
    }

    /// <summary>Expires messages at the heads (RabbitMQ expires only at the head, too).</summary>
    private void ExpireHeadsLocked(long now)
    {
        foreach (var deque in _ready)
        {
            while (deque.Count > 0 && deque.PeekHead().ExpiresAt <= now)
            {
                var entry = deque.PopHead();
                _readyCount--;
                _readyBytes -= entry.Message.BodySize;
                DropLocked(entry, "expired");
            }
        }
    }

    /// <summary>Settles a message that leaves the queue undelivered, dead-lettering it if configured (the
    /// entry's reference then goes with it until it is republished).</summary>
    private void DropLocked(in QueueEntry entry, string reason)
    {
        if (entry.Offset >= 0) _store?.Settle([entry.Offset]);
        if (Arguments.DeadLetterExchange is not null) _deadLetters.Add((entry, reason));
        else entry.Message.Release();
    }

    private void DrainLocked(long now)
    {
        while (_readyCount > 0 && _consumers.Count > 0)
        {
            var head = HighestNonEmpty()!;
            if (head.PeekHead().ExpiresAt <= now)
            {
                ExpireHeadsLocked(now);
                continue;
            }

            var consumer = PickConsumerLocked();
            if (consumer is null) break;
            var entry = PopReady();
            consumer.Deliver(this, entry);
            Traffic.AddOut(1, entry.Message.BodySize);
            if (consumer.NoAck)
            {
                if (entry.Offset >= 0) _store?.Settle([entry.Offset]);
                entry.Message.Release(); // the consumer took its own reference for the frames it queued
            }
            else
            {
                Interlocked.Increment(ref _unacked);
                NoteDeliveredLocked(entry);
            }
        }

        FlushDeliveredLocked();
    }

    /// <summary>A stored message's first delivery is recorded (one write per drain, page cache only), so that
    /// after a restart it comes back marked redelivered. Later deliveries are redeliveries already.</summary>
    private void NoteDeliveredLocked(in QueueEntry entry)
    {
        if (entry.Offset >= 0 && !entry.Redelivered && _store is not null) _deliveredScratch.Add(entry.Offset);
    }

    private void FlushDeliveredLocked()
    {
        if (_deliveredScratch.Count == 0) return;
        _store!.MarkDelivered(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_deliveredScratch));
        _deliveredScratch.Clear();
    }

    private QueueConsumer? PickConsumerLocked()
    {
        if (Arguments.SingleActiveConsumer)
        {
            return _consumers[0].HasCredit ? _consumers[0] : null;
        }

        // Consumers are kept by descending priority: the first group with credit gets the message, round
        // robin inside it; a lower group only while every higher one is blocked (prefetch, flow).
        for (int start = 0; start < _consumers.Count;)
        {
            int end = start + 1;
            while (end < _consumers.Count && _consumers[end].Priority == _consumers[start].Priority) end++;
            int size = end - start;
            for (int i = 0; i < size; i++)
            {
                var consumer = _consumers[start + (_next + i) % size];
                if (consumer.HasCredit)
                {
                    _next = (_next + i + 1) % size;
                    return consumer;
                }
            }

            start = end;
        }

        return null;
    }

    /// <summary>Delivers what consumers have credit for (after an ack frees prefetch, or a flow resumes).</summary>
    public void Drain()
    {
        lock (_lock)
        {
            if (_deleted) return;
            DrainLocked(Now);
        }

        FlushDeadLetters();
    }

    /// <summary>basic.get: the next ready message, if any; <paramref name="remaining"/> is what stays ready.
    /// The entry's reference passes to the caller, to release once it has no further use for it (at once
    /// with <paramref name="noAck"/>, else on ack, reject or requeue through this queue).</summary>
    public bool TryGet(bool noAck, out QueueEntry entry, out uint remaining)
    {
        bool got;
        lock (_lock)
        {
            entry = default;
            remaining = 0;
            _lastUsed = Now;
            if (_deleted) return false;
            ExpireHeadsLocked(_lastUsed);
            got = _readyCount > 0;
            if (got)
            {
                entry = PopReady();
                Traffic.AddOut(1, entry.Message.BodySize);
                if (noAck)
                {
                    if (entry.Offset >= 0) _store?.Settle([entry.Offset]);
                }
                else
                {
                    Interlocked.Increment(ref _unacked);
                    NoteDeliveredLocked(entry);
                    FlushDeliveredLocked();
                }
            }

            remaining = (uint)Math.Min(_readyCount, uint.MaxValue);
        }

        FlushDeadLetters();
        return got;
    }

    /// <summary>Acknowledged deliveries: settled for good.</summary>
    public void Ack(ReadOnlySpan<QueueEntry> entries)
    {
        lock (_lock)
        {
            Interlocked.Add(ref _unacked, -entries.Length);
            if (!_deleted && _store is not null)
            {
                _settleScratch.Clear();
                foreach (ref readonly var entry in entries)
                {
                    if (entry.Offset >= 0) _settleScratch.Add(entry.Offset);
                }

                _store.Settle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_settleScratch));
            }
        }

        ReleaseAll(entries);
    }

    private static void ReleaseAll(ReadOnlySpan<QueueEntry> entries)
    {
        foreach (ref readonly var entry in entries) entry.Message.Release();
    }

    /// <summary>Requeued deliveries (nack/reject with requeue, recover, channel closed): back at the head in
    /// their original order, marked redelivered.</summary>
    public void Requeue(ReadOnlySpan<QueueEntry> entries)
    {
        lock (_lock)
        {
            Interlocked.Add(ref _unacked, -entries.Length);
            if (_deleted)
            {
                ReleaseAll(entries);
                return;
            }

            if (_store is { Replicated: true } log)
            {
                for (int i = entries.Length - 1; i >= 0; i--) ReturnLocked(log, entries[i]);
            }
            else
            {
                for (int i = entries.Length - 1; i >= 0; i--) PushReadyHead(entries[i].AsRedelivered());
            }

            DrainLocked(Now);
            ScheduleTtlLocked();
        }

        FlushDeadLetters();
    }

    /// <summary>
    /// A quorum queue's delivery came back: its delivery count goes up (recorded in the log) and travels with it as
    /// x-delivery-count; past x-delivery-limit it is dead-lettered with reason <c>delivery_limit</c> instead (RabbitMQ 4).
    /// </summary>
    private void ReturnLocked(IQueueLog log, in QueueEntry entry)
    {
        int count = log.Returned(entry.Offset);
        if (Arguments.DeliveryLimit >= 0 && count > Arguments.DeliveryLimit)
        {
            DropLocked(entry, "delivery_limit");
            return;
        }

        var counted = WithDeliveryCount(entry.Message, count);
        entry.Message.Release();
        PushReadyHead(entry with { Message = counted, Redelivered = true });
    }

    /// <summary>A copy of <paramref name="message"/> with x-delivery-count set (the caller still owns the original).</summary>
    private AmqpMessage WithDeliveryCount(AmqpMessage message, int count)
    {
        byte[] properties = _broker.Codec.SetHeader(message.RawProperties, "x-delivery-count", count);
        var copy = _broker.Messages.Rent(message.Exchange, message.RoutingKey, properties.Length, message.BodySize, _broker.Codec.ReadInfo(properties));
        properties.CopyTo(copy.WritableContent);
        message.Body.Span.CopyTo(copy.WritableContent[properties.Length..]);
        return copy;
    }

    /// <summary>Rejected without requeue: dead-lettered (reason <c>rejected</c>) or dropped.</summary>
    public void Reject(ReadOnlySpan<QueueEntry> entries)
    {
        lock (_lock)
        {
            Interlocked.Add(ref _unacked, -entries.Length);
            if (_deleted)
            {
                ReleaseAll(entries);
                return;
            }

            foreach (ref readonly var entry in entries) DropLocked(entry, "rejected");
        }

        FlushDeadLetters();
    }

    /// <summary>Adds a consumer; 403 when exclusivity forbids it.</summary>
    /// <remarks><paramref name="onAdded"/> runs under the queue lock before any delivery, so that
    /// basic.consume-ok goes out before the first basic.deliver.</remarks>
    public BrokerResult AddConsumer(QueueConsumer consumer, Action? onAdded = null)
    {
        lock (_lock)
        {
            if (_deleted) return BrokerResult.Fail(404, $"NOT_FOUND - no queue '{Name}' in vhost '/'");
            if (Unavailable is not null) return BrokerResult.Fail(404, Unavailable);
            if (_consumers.Count > 0 && (consumer.Exclusive || _consumers[0].Exclusive))
            {
                return BrokerResult.Fail(403, $"ACCESS_REFUSED - queue '{Name}' in vhost '/' in exclusive use");
            }

            // After the last of its priority (single active consumer keeps arrival order: the first is active).
            int at = _consumers.Count;
            if (!Arguments.SingleActiveConsumer)
            {
                while (at > 0 && _consumers[at - 1].Priority < consumer.Priority) at--;
            }

            _consumers.Insert(at, consumer);
            _hadConsumer = true;
            onAdded?.Invoke();
            DrainLocked(Now);
        }

        FlushDeadLetters();
        return BrokerResult.Ok;
    }

    /// <summary>Removes a consumer; an auto-delete queue goes once its last consumer has.</summary>
    public void RemoveConsumer(QueueConsumer consumer)
    {
        bool autoDelete;
        lock (_lock)
        {
            if (!_consumers.Remove(consumer)) return;
            _lastUsed = Now;
            if (_consumers.Count > 0) _next %= _consumers.Count;
            else _next = 0;
            autoDelete = AutoDelete && _hadConsumer && _consumers.Count == 0 && !_deleted;
            // With a single active consumer, the next one in line takes over.
            if (!autoDelete) DrainLocked(Now);
        }

        if (autoDelete) _broker.DeleteQueueInternal(this);
        else FlushDeadLetters();
    }

    public void Touch()
    {
        lock (_lock) _lastUsed = Now;
    }

    /// <summary>Drops every ready message; returns how many.</summary>
    public uint Purge()
    {
        var removed = new List<QueueEntry>();
        lock (_lock)
        {
            foreach (var deque in _ready) deque.Clear(removed);
            _readyCount = 0;
            _readyBytes = 0;
            if (_store is not null)
            {
                var offsets = removed.Where(e => e.Offset >= 0).Select(e => e.Offset).ToArray();
                _store.Settle(offsets);
            }
        }

        ReleaseAll(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(removed));

        return (uint)removed.Count;
    }

    /// <summary>Marks the queue deleted; returns its consumers (to be told) and its ready count.</summary>
    internal (QueueConsumer[] Consumers, uint Messages) MarkDeleted()
    {
        lock (_lock)
        {
            if (_deleted) return ([], 0);
            _deleted = true;
            var consumers = _consumers.ToArray();
            _consumers.Clear();
            uint messages = (uint)_readyCount;
            var removed = new List<QueueEntry>();
            foreach (var deque in _ready) deque.Clear(removed);
            _uncommitted.Clear(removed);
            ReleaseAll(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(removed));
            _readyCount = 0;
            _readyBytes = 0;
            _ttlTimer.Dispose();
            _expiresTimer?.Dispose();
            return (consumers, messages);
        }
    }

    internal bool HasConsumers
    {
        get { lock (_lock) return _consumers.Count > 0; }
    }

    private void ScheduleTtlLocked()
    {
        long due = long.MaxValue;
        foreach (var deque in _ready)
        {
            if (deque.Count > 0) due = Math.Min(due, deque.PeekHead().ExpiresAt);
        }

        // Re-arm only when something expires sooner than the timer is set for: most enqueues leave it alone.
        if (due == long.MaxValue || due >= _ttlDue) return;
        _ttlDue = due;
        _ttlTimer.Change(TimeSpan.FromMilliseconds(Math.Max(0, due - Now)), Timeout.InfiniteTimeSpan);
    }

    private void OnTtlTimer()
    {
        lock (_lock)
        {
            if (_deleted) return;
            _ttlDue = long.MaxValue;
            ExpireHeadsLocked(Now);
            ScheduleTtlLocked();
        }

        FlushDeadLetters();
    }

    private void OnExpiresTimer()
    {
        bool expire;
        long wait;
        lock (_lock)
        {
            if (_deleted) return;
            wait = _lastUsed + Arguments.ExpiresMs - Now;
            expire = _consumers.Count == 0 && wait <= 0;
        }

        if (expire) _broker.DeleteQueueInternal(this);
        else _expiresTimer!.Change(TimeSpan.FromMilliseconds(Math.Max(wait, Arguments.ExpiresMs / 2)), Timeout.InfiniteTimeSpan);
    }

    private void FlushDeadLetters()
    {
        List<(QueueEntry, string)>? pending = null;
        lock (_lock)
        {
            if (_deadLetters.Count == 0) return;
            pending = [.. _deadLetters];
            _deadLetters.Clear();
        }

        foreach (var (entry, reason) in pending)
        {
            try
            {
                _broker.DeadLetter(this, entry.Message, reason);
            }
            finally
            {
                entry.Message.Release();
            }
        }
    }

    internal ValueTask CloseStoreAsync() => _store?.CloseAsync() ?? ValueTask.CompletedTask;

    internal ValueTask DeleteStoreAsync() => _store?.DeleteAsync() ?? ValueTask.CompletedTask;
}

/// <summary>An operation's outcome: 0 for success, else the AMQP reply code and text to close the channel with.</summary>
public readonly record struct BrokerResult(ushort Code, string? Text)
{
    public static BrokerResult Ok => default;

    public bool Succeeded => Code == 0;

    public static BrokerResult Fail(ushort code, string text) => new(code, text);
}
