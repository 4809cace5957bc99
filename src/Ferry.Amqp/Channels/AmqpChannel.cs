using System.Buffers;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Ferry.Amqp.Connections;
using Ferry.Amqp.Framing;
using Ferry.Amqp.Methods;
using Ferry.Broker.Queues;

namespace Ferry.Amqp.Channels;

/// <summary>A channel exception (spec 1.4.2.2): channel.close with the code; the connection stays.</summary>
internal sealed class AmqpChannelException(ushort code, string text) : Exception(text)
{
    public ushort Code { get; } = code;
}

/// <summary>
/// One channel: its methods, content assembly for basic.publish, consumers, unacknowledged deliveries
/// (delivery tags are per channel), prefetch, flow, publisher confirms and transactions.
/// </summary>
/// <remarks>
/// Methods arrive on the connection's read loop, one at a time. Deliveries arrive from queues on any thread
/// (under the queue's lock); <see cref="_lock"/> guards what both touch (tags, unacked, consumers). The
/// channel never calls a queue while holding <see cref="_lock"/>: lock order is queue → channel.
/// </remarks>
internal sealed class AmqpChannel
{
    private readonly AmqpConnection _connection;
    private readonly ushort _number;
    private readonly Lock _lock = new();
    private readonly UnackedDeliveries _unacked = new();
    private readonly Dictionary<string, ChannelConsumer> _consumers = new(StringComparer.Ordinal);
    private readonly List<Unacked> _taken = [];
    private readonly List<QueueEntry> _run = [];
    private readonly RouteScratch _scratch = new();
    private readonly ShortStrCache _names = new();
    private readonly List<(AmqpQueue Queue, long End)> _durableWaits = [];
    private readonly List<(AmqpMessage? Message, bool Mandatory)> _txPublishes = [];
    private readonly List<(AmqpMethodId Method, ulong Tag, bool Multiple, bool Requeue)> _txAcks = [];
    private ChannelState _state = ChannelState.Open;
    private ulong _nextTag;
    private int _unackedTotal;
    private ushort _prefetch;
    private ushort _globalPrefetch;
    private volatile bool _flowActive = true;
    private string _lastQueue = "";
    private PublisherConfirms? _confirms;
    private bool _tx;
    private Task _commitChain = Task.CompletedTask;
    /// <summary>Set by a commit whose fsync failed (off the read loop), after it sent channel.close: the read
    /// loop shuts the channel down at its next frame, so that channel state stays single-threaded.</summary>
    private volatile bool _commitFailed;

    // Direct reply-to: this channel's no-ack consumer on amq.rabbitmq.reply-to and the name replies use.
    private string? _replyConsumerTag;
    private string? _replyName;

    // Content assembly: basic.publish → header → body frames.
    private BasicPublish _publish;
    private bool _expectHeader;
    private bool _expectBody;
    private AmqpMessage? _message;
    private int _written;

    /// <summary>
    /// Content whose body is declared larger than this is gathered as its body frames arrive (<see cref="_staged"/>,
    /// grown by doubling) and copied into its message once whole. The body-size of a content header is the client's
    /// word: a message buffer sized by it alone would let one small frame claim up to Amqp:MaxMessageBytes of memory
    /// per channel (2047 channels a connection), the shape of Kafka's CVE-2022-34917.
    /// </summary>
    internal const int StagedBodyThreshold = 1 << 20;

    private byte[]? _staged;
    private int _stagedLength;
    private int _stagedPropertiesLength;
    private MessageInfo _stagedInfo;

    private static ReadOnlySpan<byte> ReplyQueueName => "amq.rabbitmq.reply-to"u8;

    private enum ChannelState
    {
        Open,
        /// <summary>We sent channel.close and wait for close-ok; everything else is discarded.</summary>
        Closing,
        Closed,
    }

    public AmqpChannel(AmqpConnection connection, ushort number)
    {
        _connection = connection;
        _number = number;
    }

    public bool IsClosed => _state == ChannelState.Closed;

    private QueueBroker Broker => _connection.Broker;

    // ------------------------------------------------------------------ dispatch

    public void HandleMethod(AmqpMethodId id, ref AmqpReader reader)
    {
        TakeCommitFailure();
        if (_state == ChannelState.Closing)
        {
            if (id == AmqpMethodId.ChannelCloseOk) _state = ChannelState.Closed;
            else if (id == AmqpMethodId.ChannelClose)
            {
                Send(new ChannelCloseOk());
                _state = ChannelState.Closed;
            }

            return;
        }

        if (_expectHeader || _expectBody)
        {
            throw new AmqpConnectionException(AmqpConstants.UnexpectedFrame,
                $"UNEXPECTED_FRAME - expected content for basic.publish on channel {_number}, got method '{AmqpMethods.GetName(id)}'", id);
        }

        try
        {
            Dispatch(id, ref reader);
        }
        catch (AmqpChannelException ex)
        {
            if (AmqpConstants.IsHardError(ex.Code)) throw new AmqpConnectionException(ex.Code, ex.Message, id);
            CloseWithError(ex.Code, ex.Message, id);
        }
    }

    private void Dispatch(AmqpMethodId id, ref AmqpReader reader)
    {
        switch (id)
        {
            case AmqpMethodId.ChannelOpen:
                throw new AmqpConnectionException(AmqpConstants.ChannelError, $"CHANNEL_ERROR - channel {_number} is already open", id);
            case AmqpMethodId.ChannelClose:
                ChannelClose.Read(ref reader);
                Shutdown();
                Send(new ChannelCloseOk());
                break;
            case AmqpMethodId.ChannelCloseOk:
                break;
            case AmqpMethodId.ChannelFlow:
                var flow = ChannelFlow.Read(ref reader);
                _flowActive = flow.Active;
                Send(new ChannelFlowOk { Active = flow.Active });
                if (flow.Active) DrainConsumerQueues();
                break;
            case AmqpMethodId.ChannelFlowOk:
                break;
            case AmqpMethodId.AccessRequest:
                Send(new AccessRequestOk { Ticket = 1 });
                break;
            case AmqpMethodId.ExchangeDeclare: ExchangeDeclare(Methods.ExchangeDeclare.Read(ref reader)); break;
            case AmqpMethodId.ExchangeDelete: ExchangeDelete(Methods.ExchangeDelete.Read(ref reader)); break;
            case AmqpMethodId.ExchangeBind: ExchangeBind(Methods.ExchangeBind.Read(ref reader)); break;
            case AmqpMethodId.ExchangeUnbind: ExchangeUnbind(Methods.ExchangeUnbind.Read(ref reader)); break;
            case AmqpMethodId.QueueDeclare: QueueDeclare(Methods.QueueDeclare.Read(ref reader)); break;
            case AmqpMethodId.QueueBind: QueueBind(Methods.QueueBind.Read(ref reader)); break;
            case AmqpMethodId.QueueUnbind: QueueUnbind(Methods.QueueUnbind.Read(ref reader)); break;
            case AmqpMethodId.QueuePurge: QueuePurge(Methods.QueuePurge.Read(ref reader)); break;
            case AmqpMethodId.QueueDelete: QueueDelete(Methods.QueueDelete.Read(ref reader)); break;
            case AmqpMethodId.BasicQos: BasicQos(Methods.BasicQos.Read(ref reader)); break;
            case AmqpMethodId.BasicConsume: BasicConsume(Methods.BasicConsume.Read(ref reader)); break;
            case AmqpMethodId.BasicCancel: BasicCancel(Methods.BasicCancel.Read(ref reader)); break;
            case AmqpMethodId.BasicPublish: BasicPublish(ReadPublish(ref reader)); break;
            case AmqpMethodId.BasicGet: BasicGet(Methods.BasicGet.Read(ref reader)); break;
            case AmqpMethodId.BasicAck:
                var ack = Methods.BasicAck.Read(ref reader);
                Settle(id, ack.DeliveryTag, ack.Multiple, requeue: false);
                break;
            case AmqpMethodId.BasicNack:
                var nack = Methods.BasicNack.Read(ref reader);
                Settle(id, nack.DeliveryTag, nack.Multiple, nack.Requeue);
                break;
            case AmqpMethodId.BasicReject:
                var reject = Methods.BasicReject.Read(ref reader);
                Settle(id, reject.DeliveryTag, multiple: false, reject.Requeue);
                break;
            case AmqpMethodId.BasicRecover:
                Methods.BasicRecover.Read(ref reader);
                RequeueAll();
                Send(new BasicRecoverOk());
                break;
            case AmqpMethodId.BasicRecoverAsync:
                RequeueAll();
                break;
            case AmqpMethodId.ConfirmSelect:
                var select = Methods.ConfirmSelect.Read(ref reader);
                if (_tx) throw new AmqpChannelException(AmqpConstants.PreconditionFailed, "PRECONDITION_FAILED - cannot switch from tx to confirm mode");
                _confirms ??= new PublisherConfirms(_connection, _number);
                if (!select.Nowait) Send(new ConfirmSelectOk());
                break;
            case AmqpMethodId.TxSelect:
                if (_confirms is not null) throw new AmqpChannelException(AmqpConstants.PreconditionFailed, "PRECONDITION_FAILED - cannot switch from confirm to tx mode");
                _tx = true;
                Send(new TxSelectOk());
                break;
            case AmqpMethodId.TxCommit: TxCommit(); break;
            case AmqpMethodId.TxRollback:
                if (!_tx) throw new AmqpChannelException(AmqpConstants.PreconditionFailed, "PRECONDITION_FAILED - channel is not transactional");
                DiscardTxPublishes();
                _txAcks.Clear();
                Send(new TxRollbackOk());
                break;
            default:
                throw new AmqpConnectionException(AmqpConstants.CommandInvalid, $"COMMAND_INVALID - '{AmqpMethods.GetName(id)}' is not a client method", id);
        }
    }

    private void Send<T>(in T method)
        where T : struct, IAmqpMethod<T> => _connection.Send(_number, method);

    private static void Check(BrokerResult result)
    {
        if (!result.Succeeded) throw new AmqpChannelException(result.Code, result.Text ?? "");
    }

    private void CloseWithError(ushort code, string text, AmqpMethodId failing)
    {
        Send(new ChannelClose
        {
            ReplyCode = code,
            ReplyText = AmqpConnection.Truncate(text),
            FailingClassId = AmqpMethods.GetClassId(failing),
            FailingMethodId = AmqpMethods.GetMethodId(failing),
        });
        Shutdown(ChannelState.Closing);
    }

    // ------------------------------------------------------------------ exchanges and queues

    // ------------------------------------------------------------------ permissions (RabbitMQ's, checked where it checks them)

    /// <summary>The last exchange name publishing was allowed to: a publisher sends the same one again and again.</summary>
    private string? _writeAllowed;

    private void Require(char access, string kind, string name)
    {
        if (_connection.Permission is not { } permission) return;
        // The default exchange is "amq.default" to permissions.
        string resource = kind == "exchange" && name.Length == 0 ? "amq.default" : name;
        bool allowed = access switch
        {
            'c' => permission.MayConfigure(resource),
            'w' => permission.MayWrite(resource),
            _ => permission.MayRead(resource),
        };
        if (allowed) return;
        string what = access switch { 'c' => "configure", 'w' => "write", _ => "read" };
        throw new AmqpChannelException(AmqpConstants.AccessRefused,
            $"ACCESS_REFUSED - {what} access to {kind} '{resource}' in vhost '{_connection.VirtualHost}' refused for user '{_connection.UserName}'");
    }

    private void ExchangeDeclare(ExchangeDeclare m)
    {
        if (!m.Passive) Require('c', "exchange", m.Exchange);
        Check(Broker.DeclareExchange(m.Exchange, m.Type, m.Passive, m.Durable, m.AutoDelete, m.Internal, m.Arguments));
        if (!m.Nowait) Send(new ExchangeDeclareOk());
    }

    private void ExchangeDelete(ExchangeDelete m)
    {
        Require('c', "exchange", m.Exchange);
        Check(Broker.DeleteExchange(m.Exchange, m.IfUnused));
        if (!m.Nowait) Send(new ExchangeDeleteOk());
    }

    private void ExchangeBind(ExchangeBind m)
    {
        Require('w', "exchange", m.Destination);
        Require('r', "exchange", m.Source);
        Check(Broker.Bind(m.Source, m.Destination, toExchange: true, m.RoutingKey, m.Arguments, _connection.Id));
        if (!m.Nowait) Send(new ExchangeBindOk());
    }

    private void ExchangeUnbind(ExchangeUnbind m)
    {
        Require('w', "exchange", m.Destination);
        Require('r', "exchange", m.Source);
        Check(Broker.Unbind(m.Source, m.Destination, toExchange: true, m.RoutingKey, m.Arguments, _connection.Id));
        if (!m.Nowait) Send(new ExchangeUnbindOk());
    }

    private void QueueDeclare(QueueDeclare m)
    {
        if (m.Queue == DirectReplyTo.QueueName || DirectReplyTo.IsReplyName(m.Queue))
        {
            DeclareReplyName(m);
            return;
        }

        // A server-named queue is checked as what its name will start with.
        if (!m.Passive) Require('c', "queue", m.Queue.Length == 0 ? "amq.gen-" : m.Queue);
        Check(Broker.DeclareQueue(m.Queue, m.Passive, m.Durable, m.Exclusive, m.AutoDelete, m.Arguments, _connection.Id, out var queue));
        _lastQueue = queue!.Name;
        if (!m.Nowait) Send(new QueueDeclareOk { Queue = queue.Name, MessageCount = queue.MessageCount, ConsumerCount = queue.ConsumerCount });
    }

    /// <summary>
    /// Declaring the pseudo-queue answers without creating anything; declaring a reply name is how a responder
    /// checks that its requester is still there (RabbitMQ: 0 messages and 1 consumer, else 404).
    /// </summary>
    private void DeclareReplyName(QueueDeclare m)
    {
        uint consumers = 0;
        if (m.Queue != DirectReplyTo.QueueName)
        {
            if (!_connection.Replies.TryGet(m.Queue, out _))
            {
                throw new AmqpChannelException(AmqpConstants.NotFound, $"NOT_FOUND - no queue '{m.Queue}' in vhost '/'");
            }

            consumers = 1;
        }

        if (!m.Nowait) Send(new QueueDeclareOk { Queue = m.Queue, MessageCount = 0, ConsumerCount = consumers });
    }

    private string QueueName(string name) => name.Length == 0 ? _lastQueue : name;

    private void QueueBind(QueueBind m)
    {
        string queue = QueueName(m.Queue);
        string key = m.RoutingKey.Length == 0 && m.Queue.Length == 0 ? queue : m.RoutingKey;
        Require('w', "queue", queue);
        Require('r', "exchange", m.Exchange);
        Check(Broker.Bind(m.Exchange, queue, toExchange: false, key, m.Arguments, _connection.Id));
        if (!m.Nowait) Send(new QueueBindOk());
    }

    private void QueueUnbind(QueueUnbind m)
    {
        Require('w', "queue", QueueName(m.Queue));
        Require('r', "exchange", m.Exchange);
        Check(Broker.Unbind(m.Exchange, QueueName(m.Queue), toExchange: false, m.RoutingKey, m.Arguments, _connection.Id));
        Send(new QueueUnbindOk());
    }

    private void QueuePurge(QueuePurge m)
    {
        Require('r', "queue", QueueName(m.Queue));
        Check(Broker.Purge(QueueName(m.Queue), _connection.Id, out uint count));
        if (!m.Nowait) Send(new QueuePurgeOk { MessageCount = count });
    }

    private void QueueDelete(QueueDelete m)
    {
        Require('c', "queue", QueueName(m.Queue));
        Check(Broker.DeleteQueue(QueueName(m.Queue), m.IfUnused, m.IfEmpty, _connection.Id, out uint count));
        if (!m.Nowait) Send(new QueueDeleteOk { MessageCount = count });
    }

    // ------------------------------------------------------------------ consuming

    private void BasicQos(BasicQos m)
    {
        if (m.PrefetchSize != 0)
        {
            throw new AmqpConnectionException(AmqpConstants.NotImplemented, "NOT_IMPLEMENTED - prefetch_size!=0", AmqpMethodId.BasicQos);
        }

        if (m.Global) _globalPrefetch = m.PrefetchCount;
        else _prefetch = m.PrefetchCount;
        Send(new BasicQosOk());
        DrainConsumerQueues();
    }

    private void BasicConsume(BasicConsume m)
    {
        int priority = 0;
        if (m.Arguments?.TryGetValue("x-priority", out object? value) == true)
        {
            // RabbitMQ: an integer (any width); anything else is 406.
            if (!QueueArguments.TryLong(value, out long requested) || requested is < int.MinValue or > int.MaxValue)
            {
                throw new AmqpChannelException(AmqpConstants.PreconditionFailed, $"PRECONDITION_FAILED - invalid arg 'x-priority' for consumer: {value}");
            }

            priority = (int)requested;
        }

        string tag = m.ConsumerTag.Length > 0 ? m.ConsumerTag : "amq.ctag-" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(16)).TrimEnd('=');
        if (m.Queue == DirectReplyTo.QueueName)
        {
            ConsumeReplies(m, tag);
            return;
        }

        Require('r', "queue", QueueName(m.Queue));
        Check(Broker.FindQueue(QueueName(m.Queue), _connection.Id, out var queue));
        if (queue.Arguments.Type == QueueType.Quorum && _globalPrefetch != 0)
        {
            // RabbitMQ: quorum queues have no channel-wide prefetch; use per-consumer prefetch (global=false).
            throw new AmqpChannelException(AmqpConstants.PreconditionFailed,
                $"PRECONDITION_FAILED - consuming from quorum queue '{queue.Name}' in vhost '/' with global qos is not supported");
        }

        ChannelConsumer consumer;
        lock (_lock)
        {
            if (_consumers.ContainsKey(tag))
            {
                throw new AmqpConnectionException(AmqpConstants.NotAllowed, $"NOT_ALLOWED - attempt to reuse consumer tag '{tag}'", AmqpMethodId.BasicConsume);
            }

            consumer = new ChannelConsumer(this, queue, tag, m.NoAck, m.Exclusive, _prefetch, priority);
            _consumers[tag] = consumer;
        }

        // consume-ok is queued under the queue's lock, before the first delivery can be.
        var result = queue.AddConsumer(consumer, m.Nowait ? null : () => Send(new BasicConsumeOk { ConsumerTag = tag }));
        if (!result.Succeeded)
        {
            lock (_lock) _consumers.Remove(tag);
            Check(result);
        }
    }

    /// <summary>basic.consume on the direct reply-to pseudo-queue, checked as RabbitMQ checks it.</summary>
    private void ConsumeReplies(BasicConsume m, string tag)
    {
        if (!m.NoAck) throw new AmqpChannelException(AmqpConstants.PreconditionFailed, "PRECONDITION_FAILED - reply consumer cannot acknowledge");
        lock (_lock)
        {
            if (_replyConsumerTag is not null) throw new AmqpChannelException(AmqpConstants.PreconditionFailed, "PRECONDITION_FAILED - reply consumer already set");
            if (_consumers.ContainsKey(tag))
            {
                throw new AmqpConnectionException(AmqpConstants.NotAllowed, $"NOT_ALLOWED - attempt to reuse consumer tag '{tag}'", AmqpMethodId.BasicConsume);
            }

            _replyConsumerTag = tag;
            _replyName = _connection.Replies.Register(this);
        }

        if (!m.Nowait) Send(new BasicConsumeOk { ConsumerTag = tag });
    }

    private void StopReplies()
    {
        string? name;
        lock (_lock)
        {
            name = _replyName;
            _replyName = _replyConsumerTag = null;
        }

        if (name is not null) _connection.Replies.Unregister(name);
    }

    /// <summary>A reply for this channel's requests, from any connection's thread: delivered at once to the
    /// no-ack reply consumer, or dropped when there is none any more (no queue holds replies).</summary>
    internal void DeliverReply(AmqpMessage message)
    {
        lock (_lock)
        {
            if (_state != ChannelState.Open || _commitFailed || _replyConsumerTag is null) return;
            ulong tag = ++_nextTag;
            message.Retain(); // the frames waiting for the writer hold their own reference
            _connection.Enqueue(Outbound.Deliver(_number, _replyConsumerTag, tag, false, message));
        }
    }

    private void BasicCancel(BasicCancel m)
    {
        if (m.ConsumerTag == _replyConsumerTag)
        {
            StopReplies();
            if (!m.Nowait) Send(new BasicCancelOk { ConsumerTag = m.ConsumerTag });
            return;
        }

        ChannelConsumer? consumer;
        lock (_lock)
        {
            if (_consumers.Remove(m.ConsumerTag, out consumer)) { }
        }

        consumer?.Queue.RemoveConsumer(consumer);
        if (!m.Nowait) Send(new BasicCancelOk { ConsumerTag = m.ConsumerTag });
    }

    internal bool HasCredit(ChannelConsumer consumer)
    {
        if (_state != ChannelState.Open || !_flowActive || _commitFailed) return false;
        if (consumer.NoAck) return true;
        return (consumer.Prefetch == 0 || Volatile.Read(ref consumer.Unacked) < consumer.Prefetch)
            && (_globalPrefetch == 0 || Volatile.Read(ref _unackedTotal) < _globalPrefetch);
    }

    /// <summary>Called by a queue under its lock: tag, record, and queue the frames for the writer.</summary>
    internal void Deliver(ChannelConsumer consumer, AmqpQueue queue, in QueueEntry entry)
    {
        lock (_lock)
        {
            ulong tag = ++_nextTag;
            if (!consumer.NoAck)
            {
                _unacked.Add(tag, queue, entry, consumer);
                consumer.Unacked++;
                _unackedTotal++;
            }

            // The frames waiting for the writer hold their own reference: an ack (or, with no-ack, the queue)
            // may release the entry's before they are written.
            entry.Message.Retain();
            _connection.Enqueue(Outbound.Deliver(_number, consumer.Tag, tag, entry.Redelivered, entry.Message));
        }
    }

    internal void OnQueueDeleted(ChannelConsumer consumer)
    {
        lock (_lock)
        {
            if (!_consumers.Remove(consumer.Tag)) return;
            if (_state != ChannelState.Open) return;
            // Consumer cancel notification (capability consumer_cancel_notify).
            Send(new Methods.BasicCancel { ConsumerTag = consumer.Tag, Nowait = true });
        }
    }

    private void BasicGet(BasicGet m)
    {
        Require('r', "queue", QueueName(m.Queue));
        Check(Broker.FindQueue(QueueName(m.Queue), _connection.Id, out var queue));
        if (queue.Unavailable is { } unavailable) throw new AmqpChannelException(AmqpConstants.NotFound, unavailable);
        if (!queue.TryGet(m.NoAck, out var entry, out uint remaining))
        {
            Send(new BasicGetEmpty());
            return;
        }

        lock (_lock)
        {
            ulong tag = ++_nextTag;
            if (!m.NoAck)
            {
                _unacked.Add(tag, queue, entry, null);
                _unackedTotal++;
            }

            var getOk = new BasicGetOk
            {
                DeliveryTag = tag,
                Redelivered = entry.Redelivered,
                Exchange = entry.Message.Exchange,
                RoutingKey = entry.Message.RoutingKey,
                MessageCount = remaining,
            };
            _connection.Enqueue(Outbound.Frames(FrameEncoder.WithContent(_number, getOk, entry.Message, _connection.FrameMax)));
        }

        if (m.NoAck) entry.Message.Release(); // encoded above; nothing settles it later
    }

    /// <summary>basic.ack / nack / reject (buffered under tx until commit).</summary>
    private void Settle(AmqpMethodId method, ulong tag, bool multiple, bool requeue)
    {
        if (_tx)
        {
            // Validate now (406 on an unknown tag comes at once), apply at commit.
            _txAcks.Add((method, tag, multiple, requeue));
            return;
        }

        SettleNow(method, tag, multiple, requeue);
    }

    private void SettleNow(AmqpMethodId method, ulong tag, bool multiple, bool requeue)
    {
        _taken.Clear();
        bool found;
        lock (_lock)
        {
            found = _unacked.Take(tag, multiple, _taken);
            ReleaseCreditLocked(_taken);
        }

        if (!found)
        {
            throw new AmqpChannelException(AmqpConstants.PreconditionFailed, $"PRECONDITION_FAILED - unknown delivery tag {tag}");
        }

        Apply(_taken, method == AmqpMethodId.BasicAck ? Disposition.Ack : requeue ? Disposition.Requeue : Disposition.Reject);
    }

    private void ReleaseCreditLocked(List<Unacked> taken)
    {
        foreach (var item in taken)
        {
            if (item.Consumer is not null) item.Consumer.Unacked--;
            _unackedTotal--;
        }
    }

    private enum Disposition
    {
        Ack,
        Requeue,
        Reject,
    }

    /// <summary>Hands settled deliveries back to their queues, a run of one queue at a time, then lets the
    /// queues use the freed prefetch credit.</summary>
    private void Apply(List<Unacked> taken, Disposition disposition)
    {
        int i = 0;
        while (i < taken.Count)
        {
            var queue = taken[i].Queue!;
            _run.Clear();
            while (i < taken.Count && ReferenceEquals(taken[i].Queue, queue)) _run.Add(taken[i++].Entry);
            var entries = CollectionsMarshal.AsSpan(_run);
            switch (disposition)
            {
                case Disposition.Ack: queue.Ack(entries); break;
                case Disposition.Requeue: queue.Requeue(entries); break;
                default: queue.Reject(entries); break;
            }

            if (disposition != Disposition.Requeue) queue.Drain();
        }

        taken.Clear();
    }

    private void RequeueAll()
    {
        _taken.Clear();
        lock (_lock)
        {
            _unacked.TakeAll(_taken);
            ReleaseCreditLocked(_taken);
        }

        Apply(_taken, Disposition.Requeue);
    }

    private void DrainConsumerQueues()
    {
        ChannelConsumer[] consumers;
        lock (_lock) consumers = [.. _consumers.Values];
        foreach (var consumer in consumers) consumer.Queue.Drain();
    }

    /// <summary>
    /// Channel closed (by either side) or connection gone: consumers leave their queues first, then every
    /// unacknowledged delivery goes back, marked redelivered, so that other consumers get it.
    /// </summary>
    public void Shutdown() => Shutdown(ChannelState.Closed);

    private void Shutdown(ChannelState state)
    {
        ChannelConsumer[] consumers;
        lock (_lock)
        {
            _state = state;
            consumers = [.. _consumers.Values];
            _consumers.Clear();
        }

        foreach (var consumer in consumers) consumer.Queue.RemoveConsumer(consumer);
        StopReplies();
        _expectHeader = _expectBody = false;
        DiscardContent();
        DiscardTxPublishes();
        _txAcks.Clear();
        RequeueAll();
    }

    // ------------------------------------------------------------------ publishing

    /// <summary>basic.publish as the generated reader decodes it, but with the names from the channel's
    /// cache: a publisher repeating its exchange and routing key allocates no strings for them.</summary>
    private BasicPublish ReadPublish(ref AmqpReader reader)
    {
        ushort ticket = reader.ReadShort();
        string exchange = _names.Get(reader.ReadShortStrBytes());
        string routingKey = _names.Get(reader.ReadShortStrBytes());
        bool mandatory = reader.ReadBit();
        bool immediate = reader.ReadBit();
        return new BasicPublish { Ticket = ticket, Exchange = exchange, RoutingKey = routingKey, Mandatory = mandatory, Immediate = immediate };
    }

    private void BasicPublish(BasicPublish m)
    {
        _connection.HasPublished = true;
        if (m.Immediate)
        {
            throw new AmqpConnectionException(AmqpConstants.NotImplemented, "NOT_IMPLEMENTED - immediate=true", AmqpMethodId.BasicPublish);
        }

        // Checked at the method, as RabbitMQ does; the content that follows is then discarded by the closing channel.
        // Write permission: looked up again only when the exchange name changes (a reference check on the hot path).
        if (_connection.Permission is not null && !ReferenceEquals(m.Exchange, _writeAllowed))
        {
            Require('w', "exchange", m.Exchange);
            _writeAllowed = m.Exchange;
        }
        if (m.Exchange.Length > 0)
        {
            if (!Broker.TryGetExchange(m.Exchange, out var exchange))
            {
                throw new AmqpChannelException(AmqpConstants.NotFound, $"NOT_FOUND - no exchange '{m.Exchange}' in vhost '/'");
            }

            if (exchange.Internal)
            {
                throw new AmqpChannelException(AmqpConstants.AccessRefused, $"ACCESS_REFUSED - cannot publish to internal exchange '{m.Exchange}' in vhost '/'");
            }
        }

        _publish = m;
        _expectHeader = true;
    }

    public void HandleHeader(ReadOnlySpan<byte> payload)
    {
        TakeCommitFailure();
        if (_state != ChannelState.Open) return;
        if (!_expectHeader)
        {
            throw new AmqpConnectionException(AmqpConstants.UnexpectedFrame, $"UNEXPECTED_FRAME - content header on channel {_number} without basic.publish");
        }

        var header = ContentHeader.Read(payload);
        if (header.ClassId != BasicProperties.ClassId)
        {
            throw new AmqpConnectionException(AmqpConstants.UnexpectedFrame, $"UNEXPECTED_FRAME - content header of class {header.ClassId}");
        }

        _expectHeader = false;
        if (header.BodySize > (ulong)_connection.MaxMessageBytes)
        {
            CloseWithError(AmqpConstants.PreconditionFailed,
                $"PRECONDITION_FAILED - message size {header.BodySize} is larger than configured max size {_connection.MaxMessageBytes}", AmqpMethodId.BasicPublish);
            return;
        }

        var properties = header.RawProperties;
        var info = AmqpContentCodec.Read(properties); // malformed properties: 502 syntax-error on the connection
        if (AmqpContentCodec.ReadReplyTo(properties).SequenceEqual(ReplyQueueName))
        {
            // Direct reply-to: the request carries this channel's reply name instead.
            if (_replyName is not { } replyName)
            {
                CloseWithError(AmqpConstants.PreconditionFailed, "PRECONDITION_FAILED - fast reply consumer does not exist", AmqpMethodId.BasicPublish);
                return;
            }

            properties = AmqpContentCodec.WithReplyTo(properties, replyName);
        }
        if (header.BodySize > StagedBodyThreshold)
        {
            _stagedLength = checked(properties.Length + (int)header.BodySize);
            _stagedPropertiesLength = properties.Length;
            _stagedInfo = info;
            _staged = ArrayPool<byte>.Shared.Rent(properties.Length + StagedBodyThreshold);
            properties.CopyTo(_staged);
            _written = properties.Length;
            _expectBody = true;
            return;
        }
        _message = Broker.Messages.Rent(_publish.Exchange, _publish.RoutingKey, properties.Length, (int)header.BodySize, info);
        properties.CopyTo(_message.WritableContent);
        _written = properties.Length;
        if (header.BodySize == 0) CompletePublish();
        else _expectBody = true;
    }

    public void HandleBody(ReadOnlySpan<byte> payload)
    {
        TakeCommitFailure();
        if (_state != ChannelState.Open) return;
        if (!_expectBody)
        {
            throw new AmqpConnectionException(AmqpConstants.UnexpectedFrame, $"UNEXPECTED_FRAME - body frame on channel {_number} without a content header");
        }

        if (_staged is not null)
        {
            StageBody(payload);
            return;
        }

        var content = _message!.WritableContent;
        if (payload.Length > content.Length - _written)
        {
            throw new AmqpConnectionException(AmqpConstants.FrameError, "FRAME_ERROR - body frames longer than the size in the content header");
        }

        payload.CopyTo(content[_written..]);
        _written += payload.Length;
        if (_written == content.Length)
        {
            _expectBody = false;
            CompletePublish();
        }
    }

    /// <summary>A body frame of large content: kept in the staging buffer, grown as needed; the message is made once whole.</summary>
    private void StageBody(ReadOnlySpan<byte> payload)
    {
        if (payload.Length > _stagedLength - _written)
        {
            throw new AmqpConnectionException(AmqpConstants.FrameError, "FRAME_ERROR - body frames longer than the size in the content header");
        }
        if (_written + payload.Length > _staged!.Length)
        {
            var grown = ArrayPool<byte>.Shared.Rent(Math.Min(_stagedLength, Math.Max(_written + payload.Length, 2 * _staged.Length)));
            _staged.AsSpan(0, _written).CopyTo(grown);
            ArrayPool<byte>.Shared.Return(_staged);
            _staged = grown;
        }
        payload.CopyTo(_staged.AsSpan(_written));
        _written += payload.Length;
        if (_written < _stagedLength) return;

        _message = Broker.Messages.Rent(_publish.Exchange, _publish.RoutingKey, _stagedPropertiesLength, _stagedLength - _stagedPropertiesLength, _stagedInfo);
        _staged.AsSpan(0, _stagedLength).CopyTo(_message.WritableContent);
        ReturnStaged();
        _expectBody = false;
        CompletePublish();
    }

    private void ReturnStaged()
    {
        if (_staged is null) return;
        ArrayPool<byte>.Shared.Return(_staged);
        _staged = null;
    }

    /// <summary>Routes the assembled message; the channel's reference to it ends here (or at commit under tx).</summary>
    private void CompletePublish()
    {
        var message = _message!;
        _message = null;
        if (_tx)
        {
            _txPublishes.Add((message, _publish.Mandatory));
            return;
        }

        try
        {
            PublishNow(message, _publish.Mandatory);
        }
        catch (AmqpChannelException ex)
        {
            CloseWithError(ex.Code, ex.Message, AmqpMethodId.BasicPublish);
        }
        finally
        {
            message.Release();
        }
    }

    private void DiscardContent()
    {
        _message?.Release();
        _message = null;
        ReturnStaged();
    }

    private void DiscardTxPublishes()
    {
        foreach (var (message, _) in _txPublishes) message?.Release();
        _txPublishes.Clear();
    }

    /// <summary>Routes and enqueues; a mandatory message that reached no queue is returned (before its
    /// confirm, which <see cref="EndOfBatch"/> sends later); confirms and tx commits wait for fsync of durable copies.</summary>
    private void PublishNow(AmqpMessage message, bool mandatory)
    {
        if (message.Exchange.Length == 0 && DirectReplyTo.IsReplyName(message.RoutingKey))
        {
            // A reply: straight to the requester's channel. Counted as routed even if the requester has gone
            // (RabbitMQ sends no basic.return for it either).
            if (_connection.Replies.TryGet(message.RoutingKey, out var requester)) requester.DeliverReply(message);
            _confirms?.Published(false);
            return;
        }

        if (!Broker.Route(message.Exchange, message.RoutingKey, message, _scratch))
        {
            throw new AmqpChannelException(AmqpConstants.NotFound, $"NOT_FOUND - no exchange '{message.Exchange}' in vhost '/'");
        }

        bool rejected = false;
        foreach (var queue in _scratch.Queues)
        {
            EnqueueOutcome outcome;
            long durableEnd;
            try
            {
                outcome = queue.Enqueue(message, out durableEnd);
            }
            catch (IOException)
            {
                // The queue's log could not take it (disk full: ENOSPC) and kept nothing: the publish is nacked (under
                // confirms), never acked; the channel and the connection go on.
                rejected = true;
                continue;
            }
            if (outcome == EnqueueOutcome.Rejected) rejected = true;
            else if (durableEnd > 0 && _confirms is not null) _confirms.WaitFor(queue, durableEnd);
            else if (durableEnd > 0 && _tx) _durableWaits.Extend(queue, durableEnd);
        }

        if (_scratch.Queues.Count == 0 && mandatory)
        {
            var basicReturn = new BasicReturn { ReplyCode = AmqpConstants.NoRoute, ReplyText = "NO_ROUTE", Exchange = message.Exchange, RoutingKey = message.RoutingKey };
            _connection.Enqueue(Outbound.Frames(FrameEncoder.WithContent(_number, basicReturn, message, _connection.FrameMax)));
        }

        _confirms?.Published(rejected);
    }

    private Task[] TakeDurableWaits()
    {
        var waits = new Task[_durableWaits.Count];
        for (int i = 0; i < waits.Length; i++) waits[i] = _durableWaits[i].Queue.WaitForDurableAsync(_durableWaits[i].End);
        _durableWaits.Clear();
        return waits;
    }

    /// <summary>After each read batch: confirms for the batch's publishes, together.</summary>
    public void EndOfBatch() => _confirms?.EndOfBatch();

    private void TxCommit()
    {
        if (!_tx) throw new AmqpChannelException(AmqpConstants.PreconditionFailed, "PRECONDITION_FAILED - channel is not transactional");
        for (int i = 0; i < _txPublishes.Count; i++)
        {
            // Taken out before publishing, so that a failure (which closes the channel) releases the rest only.
            var (message, mandatory) = _txPublishes[i];
            _txPublishes[i] = default;
            if (message is null) continue;
            try
            {
                PublishNow(message, mandatory);
            }
            finally
            {
                message.Release();
            }
        }

        _txPublishes.Clear();
        var acks = _txAcks.ToArray();
        _txAcks.Clear();
        foreach (var (method, tag, multiple, requeue) in acks) SettleNow(method, tag, multiple, requeue);
        var waits = TakeDurableWaits();
        if (waits.Length == 0 && _commitChain.IsCompleted)
        {
            Send(new TxCommitOk());
            return;
        }

        _commitChain = CommitAfterAsync(_commitChain, waits);
    }

    /// <summary>
    /// Answers a commit once its durable writes are on disk. commit-ok means durable: when the fsync failed
    /// the channel is closed with 541 INTERNAL_ERROR instead (RabbitMQ's code for a failure of its own) and
    /// this and every later commit on the channel stay unanswered.
    /// </summary>
    private async Task CommitAfterAsync(Task previous, Task[] waits)
    {
        await previous.ConfigureAwait(false);
        if (_commitFailed) return;
        try
        {
            await Task.WhenAll(waits).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException)
        {
            if (_state != ChannelState.Open) return; // closed meanwhile: nobody to answer
            _commitFailed = true;
            Send(new ChannelClose
            {
                ReplyCode = AmqpConstants.InternalError,
                ReplyText = AmqpConnection.Truncate("INTERNAL_ERROR - tx.commit failed: " + ex.Message),
                FailingClassId = AmqpMethods.GetClassId(AmqpMethodId.TxCommit),
                FailingMethodId = AmqpMethods.GetMethodId(AmqpMethodId.TxCommit),
            });
            return;
        }

        Send(new TxCommitOk());
    }

    /// <summary>On the read loop: a failed commit already sent channel.close; now stop the channel and wait
    /// for close-ok, discarding everything else (what the client sent before it saw the close).</summary>
    private void TakeCommitFailure()
    {
        if (_commitFailed && _state == ChannelState.Open) Shutdown(ChannelState.Closing);
    }
}
