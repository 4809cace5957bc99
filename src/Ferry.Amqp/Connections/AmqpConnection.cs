using System.Buffers;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.IO.Pipelines;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Ferry.Amqp.Channels;
using Ferry.Amqp.Diagnostics;
using Ferry.Amqp.Framing;
using Ferry.Amqp.Methods;
using Ferry.Broker.Connections;
using Ferry.Broker.Queues;
using Ferry.Broker.Resources;
using Ferry.Broker.Security;
using Ferry.Broker.Security.Permissions;
using Ferry.Broker.VirtualHosts;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace Ferry.Amqp.Connections;

/// <summary>A connection exception (spec 1.4.2.2): connection.close with the code, then the socket closes.</summary>
internal sealed class AmqpConnectionException(ushort code, string text, AmqpMethodId failing = default) : Exception(text)
{
    public ushort Code { get; } = code;

    public AmqpMethodId Failing { get; } = failing;

    [DoesNotReturn]
    public static void Throw(ushort code, string text, AmqpMethodId failing = default) => throw new AmqpConnectionException(code, text, failing);
}

/// <summary>
/// One AMQP 0-9-1 connection: the handshake (protocol header, start/start-ok, tune/tune-ok, open), the
/// frame loop that hands methods and content to channels, heartbeats both ways, and the close handshake.
/// </summary>
/// <remarks>
/// <para>Reading: one loop parses whole frames from the pipe and handles them synchronously (broker operations
/// do not block on I/O; only publisher confirms wait for fsync, and those waits run beside the loop).</para>
/// <para>Writing: everything goes through <see cref="_outbound"/>, drained by one writer task into the
/// PipeWriter with one flush per batch: writes are serialized without a lock, and a queue can hand a
/// delivery to a connection from any thread without waiting.</para>
/// </remarks>
internal sealed partial class AmqpConnection : IDisposable
{
    private static readonly TimeSpan CloseOkTimeout = TimeSpan.FromSeconds(2);

    /// <summary>RabbitMQ's CLOSING_TIMEOUT: how long the client gets to close the socket after close-ok
    /// (less when its heartbeat interval is shorter).</summary>
    private static readonly TimeSpan ClientCloseTimeout = TimeSpan.FromSeconds(30);

    private readonly ConnectionContext _context;
    private readonly IUserStore? _users;

    /// <summary>A refused login, answered by the read loop after <see cref="AmqpOptions.LoginFailureDelayMs"/>.</summary>
    private string? _refusal;
    // The vhost's broker: "/" until connection.open names another.
    private QueueBroker _broker;
    private readonly VirtualHostRegistry? _vhosts;
    private readonly AmqpAuthorizer? _authorizer;
    private string? _user;
    private readonly ResourceAlarm _alarm;
    private readonly AmqpOptions _options;
    private readonly ILogger _logger;
    private readonly ClientConnection? _client;
    private readonly OutboundQueue _outbound = new();
    private readonly CancellationTokenSource _stop = new();
    private AmqpChannel?[] _channels = new AmqpChannel?[16];
    private State _state = State.AwaitStartOk;
    private long _lastReceivedTicks = Environment.TickCount64;
    private uint _frameMax;
    private ushort _channelMax;
    private ushort _heartbeat;
    private bool _clientHandlesBlocked;
    private volatile bool _blocked;

    private enum State
    {
        AwaitStartOk,
        AwaitTuneOk,
        AwaitOpen,
        Open,
        /// <summary>We sent connection.close: only close-ok (or close) is read now.</summary>
        Closing,
        /// <summary>
        /// The client closed and got close-ok: what still arrives (frames it had queued behind its close) is
        /// read and discarded until it closes the socket, as RabbitMQ does; closing first would make its
        /// remaining writes fail (EPIPE) and could reset the connection before it reads the close-ok.
        /// </summary>
        Draining,
        Closed,
    }

    public AmqpConnection(ConnectionContext context, QueueBroker broker, ResourceAlarm alarm, DirectReplyTo replies, AmqpOptions options, ILogger logger,
        ClientConnection? client = null,
        IUserStore? users = null,
        VirtualHostRegistry? vhosts = null,
        AmqpAuthorizer? authorizer = null)
    {
        _vhosts = vhosts;
        _authorizer = authorizer;
        Replies = replies;
        _client = client;
        _context = context;
        _users = users;
        _broker = broker;
        _alarm = alarm;
        _options = options;
        _logger = logger;
        _frameMax = options.FrameMax;
        _channelMax = options.ChannelMax;
    }

    public string Id => _context.ConnectionId;

    public QueueBroker Broker => _broker;

    /// <summary>The vhost connection.open chose (<c>/</c> before it).</summary>
    public string VirtualHost { get; private set; } = VirtualHostRegistry.Default;

    /// <summary>What the user may do in the vhost; null when nothing is checked (authorization off, or full rights).</summary>
    public VhostPermission? Permission { get; private set; }

    /// <summary>The authenticated user name.</summary>
    public string UserName => _user ?? "";

    public DirectReplyTo Replies { get; }

    public uint FrameMax => _frameMax;

    public long MaxMessageBytes => _options.MaxMessageBytes;

    public ILogger Logger => _logger;

    public void Enqueue(in Outbound item)
    {
        if (!_outbound.TryWrite(item)) item.Discard(); // the writer is gone (connection closed)
    }

    public void Send<T>(ushort channel, in T method)
        where T : struct, IAmqpMethod<T> =>
        Enqueue(Outbound.Frames(FrameEncoder.Method(channel, method)));

    public async Task RunAsync()
    {
        var writer = Task.Run(RunWriterAsync);
        _ = CloseIfNotOpenedAsync();
        try
        {
            if (await ReadProtocolHeaderAsync().ConfigureAwait(false))
            {
                SendStart();
                await ReadFramesAsync().ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is IOException or ConnectionResetException or ConnectionAbortedException or OperationCanceledException or ObjectDisposedException)
        {
            Log.ConnectionLost(_logger, Id, ex.Message);
        }
        catch (Exception ex)
        {
            Log.ConnectionFailed(_logger, Id, ex);
        }
        finally
        {
            _state = State.Closed;
            await _stop.CancelAsync().ConfigureAwait(false);
            CloseAllChannels();
            _broker.ConnectionClosed(Id);
            _outbound.Complete();
            try
            {
                await writer.ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or ConnectionResetException or OperationCanceledException or InvalidOperationException)
            {
                // The peer is gone; nothing left to write to.
            }

            // What the writer left unwritten still holds message references.
            while (_outbound.TryRead(out var unwritten)) unwritten.Discard();

            await _context.Transport.Input.CompleteAsync().ConfigureAwait(false);
        }
    }

    public void Dispose() => _stop.Dispose();

    /// <summary>
    /// Before login costs little: a client that has not reached connection.open within the login timeout (one that
    /// opens a socket and sends nothing, or stalls mid-handshake) is closed.
    /// </summary>
    private async Task CloseIfNotOpenedAsync()
    {
        try
        {
            await Task.Delay(_options.LoginTimeout, _stop.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
        {
            return;
        }
        if (_state is State.Open or State.Draining or State.Closed) return;
        Log.LoginTimedOut(_logger, Id, (int)_options.LoginTimeout.TotalSeconds);
        _context.Abort(new ConnectionAbortedException("AMQP login timed out"));
    }

    private async Task<bool> ReadProtocolHeaderAsync()
    {
        var input = _context.Transport.Input;
        while (true)
        {
            var result = await input.ReadAsync().ConfigureAwait(false);
            var buffer = result.Buffer;
            bool done = AmqpFrame.TryReadProtocolHeader(ref buffer, out bool ok);
            // Frames may follow the header in the same read: mark only the header consumed, so that the
            // frame loop sees the rest without waiting for more bytes.
            if (done) input.AdvanceTo(buffer.Start);
            else input.AdvanceTo(buffer.Start, buffer.End);
            if (done)
            {
                if (ok) return true;
                // Spec 4.2.2: answer a header we do not speak with the one we do, then close.
                Log.BadProtocolHeader(_logger, Id);
                Enqueue(Outbound.Frames(AmqpFrame.ProtocolHeader.ToArray()));
                return false;
            }

            if (result.IsCompleted) return false;
        }
    }

    private void SendStart()
    {
        var capabilities = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["publisher_confirms"] = true,
            ["exchange_exchange_bindings"] = true,
            ["basic.nack"] = true,
            ["consumer_cancel_notify"] = true,
            ["connection.blocked"] = true,
            ["consumer_priorities"] = true,
            ["authentication_failure_close"] = true,
            ["per_consumer_qos"] = true,
            ["direct_reply_to"] = true,
        };
        var properties = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["capabilities"] = capabilities,
            ["product"] = "Ferry",
            ["version"] = typeof(AmqpConnection).Assembly.GetName().Version?.ToString(3) ?? "0.1.0",
            ["platform"] = ".NET " + Environment.Version,
            ["cluster_name"] = "ferry",
            ["copyright"] = "Ferry contributors",
            ["information"] = "Ferry: Kafka and AMQP 0-9-1 in one broker",
        };
        // EXTERNAL (the TLS client certificate) only where a verified certificate was presented.
        string mechanisms = ClientCertificate is null ? "PLAIN AMQPLAIN" : "PLAIN AMQPLAIN EXTERNAL";
        Send(0, new ConnectionStart { VersionMajor = 0, VersionMinor = 9, ServerProperties = properties, Mechanisms = mechanisms, Locales = "en_US" });
    }

    private async Task ReadFramesAsync()
    {
        var input = _context.Transport.Input;
        CancellationTokenSource? closeTimeout = null;
        // Server shutdown asks connections to close: the client gets connection.close 320 (CONNECTION_FORCED),
        // as RabbitMQ sends, and a bounded wait for close-ok.
        var shutdown = _context.Features.Get<IConnectionLifetimeNotificationFeature>()?.ConnectionClosedRequested ?? CancellationToken.None;
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, shutdown);
        // A publisher idle in ReadAsync when the alarm goes up must be told now (RabbitMQ sends connection.blocked
        // to publishing connections as the alarm is set), not at its next frame: that could be a heartbeat 30 s on.
        // The cancelled read returns to the top of the loop, which blocks.
        void WakeReader()
        {
            if (HasPublished) input.CancelPendingRead();
        }
        _alarm.AlarmRaised += WakeReader;
        try
        {
            while (_state != State.Closed)
            {
                if (_state == State.Draining)
                {
                    await DrainUntilClientClosesAsync(input, reading.Token).ConfigureAwait(false);
                    return;
                }

                if (_state == State.Closing && closeTimeout is null)
                {
                    closeTimeout = new CancellationTokenSource(CloseOkTimeout);
                }

                if (_state == State.Open && HasPublished && _alarm.IsRaised) await BlockWhileAlarmAsync(reading.Token).ConfigureAwait(false);

                ReadResult result;
                try
                {
                    result = await input.ReadAsync(closeTimeout?.Token ?? reading.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (closeTimeout?.IsCancellationRequested == true)
                {
                    return; // no close-ok in time: close anyway
                }
                catch (OperationCanceledException) when (shutdown.IsCancellationRequested && _state != State.Closing)
                {
                    if (_state != State.Open) return;
                    CloseWithError(AmqpConstants.ConnectionForced, "CONNECTION_FORCED - broker shutdown", default);
                    continue;
                }

                var buffer = result.Buffer;
                try
                {
                    HandleBuffer(ref buffer);
                }
                finally
                {
                    input.AdvanceTo(buffer.Start, buffer.End);
                }
                if (_refusal is { } refusal)
                {
                    _refusal = null;
                    try
                    {
                        await Task.Delay(_options.LoginFailureDelayMs, reading.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                    CloseWithError(AmqpConstants.AccessRefused, refusal, AmqpMethodId.ConnectionStartOk);
                    continue;
                }

                foreach (var channel in _channels) channel?.EndOfBatch();
                if (result.IsCompleted) return;
            }
        }
        finally
        {
            _alarm.AlarmRaised -= WakeReader;
            closeTimeout?.Dispose();
        }
    }

    private async Task DrainUntilClientClosesAsync(PipeReader input, CancellationToken cancellationToken)
    {
        var limit = _heartbeat > 0 && _heartbeat < ClientCloseTimeout.TotalSeconds ? TimeSpan.FromSeconds(_heartbeat) : ClientCloseTimeout;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(limit);
        try
        {
            while (true)
            {
                var result = await input.ReadAsync(timeout.Token).ConfigureAwait(false);
                input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted) return;
            }
        }
        catch (OperationCanceledException)
        {
            // The client did not close in time, or the server is shutting down: close from our side.
        }
    }

    /// <summary>Set by a channel when this connection publishes: only publishers are held back by the alarm.</summary>
    public bool HasPublished { get; set; }

    /// <summary>
    /// RabbitMQ's flow control under a resource alarm: tell the client (connection.blocked, if it says it
    /// understands it) and stop reading its socket until the alarm clears, so that TCP back-pressure holds
    /// the publisher. Heartbeat monitoring pauses meanwhile, since its frames are not being read.
    /// </summary>
    private async Task BlockWhileAlarmAsync(CancellationToken cancellationToken)
    {
        _blocked = true;
        if (_clientHandlesBlocked) Send(0, new ConnectionBlocked { Reason = Truncate(_alarm.Reason ?? "resource alarm") });
        Log.Blocked(_logger, Id, _alarm.Reason ?? "");
        try
        {
            await _alarm.WhenClearAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Volatile.Write(ref _lastReceivedTicks, Environment.TickCount64);
            _blocked = false;
        }
        if (_clientHandlesBlocked) Send(0, new ConnectionUnblocked());
        Log.Unblocked(_logger, Id);
    }

    private void HandleBuffer(ref ReadOnlySequence<byte> buffer)
    {
        try
        {
            while (_state is not (State.Closed or State.Draining) && _refusal is null
                && AmqpFrame.TryReadFrame(ref buffer, _frameMax, out var type, out ushort channel, out var payload))
            {
                Volatile.Write(ref _lastReceivedTicks, Environment.TickCount64);
                using var contiguous = new ContiguousBuffer(payload);
                HandleFrame(type, channel, contiguous.Span);
            }
        }
        catch (AmqpFrameException ex)
        {
            CloseWithError(ex.ReplyCode, ex.Message, default);
            buffer = buffer.Slice(buffer.End); // nothing after a bad frame can be trusted
        }
        catch (AmqpConnectionException ex)
        {
            CloseWithError(ex.Code, ex.Message, ex.Failing);
        }
    }

    /// <summary>Sends connection.close for a connection exception and waits (bounded) for close-ok.</summary>
    private void CloseWithError(ushort code, string text, AmqpMethodId failing)
    {
        if (_state is State.Closing or State.Draining or State.Closed) return;
        Log.ConnectionError(_logger, Id, code, text);
        Send(0, new ConnectionClose
        {
            ReplyCode = code,
            ReplyText = Truncate(text),
            FailingClassId = AmqpMethods.GetClassId(failing),
            FailingMethodId = AmqpMethods.GetMethodId(failing),
        });
        _state = State.Closing;
        // Channels stop now (spec: after connection.close the peer discards everything but close-ok).
        CloseAllChannels();
    }

    internal static string Truncate(string text) => Encoding.UTF8.GetByteCount(text) <= 255 ? text : text[..Math.Min(text.Length, 120)];

    private void HandleFrame(FrameType type, ushort channel, ReadOnlySpan<byte> payload)
    {
        if (type == FrameType.Heartbeat)
        {
            if (channel != 0) AmqpConnectionException.Throw(AmqpConstants.FrameError, "heartbeat frame on a non-zero channel");
            return;
        }

        if (_state == State.Closing)
        {
            // Waiting for close-ok: everything else is discarded (spec 4.2.2 / 1.4.2.2).
            if (type == FrameType.Method && channel == 0)
            {
                var reader = new AmqpReader(payload);
                var id = reader.ReadMethodId();
                if (id == AmqpMethodId.ConnectionCloseOk) _state = State.Closed;
                else if (id == AmqpMethodId.ConnectionClose)
                {
                    Send(0, new ConnectionCloseOk());
                    _state = State.Closed;
                }
            }

            return;
        }

        if (channel == 0)
        {
            if (type != FrameType.Method) AmqpConnectionException.Throw(AmqpConstants.UnexpectedFrame, "content frame on channel 0");
            HandleConnectionMethod(payload);
            return;
        }

        if (_state != State.Open) AmqpConnectionException.Throw(AmqpConstants.ChannelError, "channel frame before connection.open");
        if (channel > _channelMax) AmqpConnectionException.Throw(AmqpConstants.ChannelError, $"channel {channel} above channel_max {_channelMax}");
        var amqpChannel = channel < _channels.Length ? _channels[channel] : null;
        if (type == FrameType.Method)
        {
            var reader = new AmqpReader(payload);
            var id = reader.ReadMethodId();
            CheckKnown(id);
            if (amqpChannel is null)
            {
                if (id != AmqpMethodId.ChannelOpen)
                {
                    AmqpConnectionException.Throw(AmqpConstants.ChannelError, $"expected 'channel.open' on channel {channel}, got '{AmqpMethods.GetName(id)}'", id);
                }

                OpenChannel(channel);
                return;
            }

            long started = Stopwatch.GetTimestamp();
            amqpChannel.HandleMethod(id, ref reader);
            AmqpMetrics.RecordMethod(id, Stopwatch.GetElapsedTime(started));
            if (amqpChannel.IsClosed) _channels[channel] = null;
            return;
        }

        if (amqpChannel is null) AmqpConnectionException.Throw(AmqpConstants.ChannelError, $"content frame on channel {channel}, which is not open");
        if (type == FrameType.Header) amqpChannel.HandleHeader(payload);
        else amqpChannel.HandleBody(payload);
    }

    private static void CheckKnown(AmqpMethodId id)
    {
        if (!AmqpMethods.IsKnownClass(AmqpMethods.GetClassId(id)))
        {
            AmqpConnectionException.Throw(AmqpConstants.NotImplemented, $"unknown class {AmqpMethods.GetClassId(id)}", id);
        }

        if (!AmqpMethods.IsKnown(id)) AmqpConnectionException.Throw(AmqpConstants.CommandInvalid, $"unknown method {AmqpMethods.GetName(id)}", id);
    }

    private void OpenChannel(ushort number)
    {
        if (number >= _channels.Length) Array.Resize(ref _channels, Math.Min(Math.Max(number + 1, _channels.Length * 2), _channelMax + 1));
        _channels[number] = new AmqpChannel(this, number);
        Send(number, new ChannelOpenOk());
    }

    private void HandleConnectionMethod(ReadOnlySpan<byte> payload)
    {
        var reader = new AmqpReader(payload);
        var id = reader.ReadMethodId();
        CheckKnown(id);
        switch (_state, id)
        {
            case (State.AwaitStartOk, AmqpMethodId.ConnectionStartOk):
                HandleStartOk(ConnectionStartOk.Read(ref reader));
                break;
            case (State.AwaitTuneOk, AmqpMethodId.ConnectionTuneOk):
                HandleTuneOk(ConnectionTuneOk.Read(ref reader));
                break;
            case (State.AwaitOpen, AmqpMethodId.ConnectionOpen):
                var open = ConnectionOpen.Read(ref reader);
                OpenVirtualHost(open.VirtualHost, id);
                _state = State.Open;
                Send(0, new ConnectionOpenOk());
                break;
            case (_, AmqpMethodId.ConnectionClose):
                Send(0, new ConnectionCloseOk());
                _state = State.Draining;
                CloseAllChannels();
                break;
            case (_, AmqpMethodId.ConnectionCloseOk):
                _state = State.Closed;
                break;
            case (State.Open, AmqpMethodId.ConnectionBlocked or AmqpMethodId.ConnectionUnblocked):
                break;
            case (State.Open, AmqpMethodId.ConnectionUpdateSecret):
                Send(0, new ConnectionUpdateSecretOk());
                break;
            default:
                AmqpConnectionException.Throw(AmqpConstants.CommandInvalid, $"COMMAND_INVALID - unexpected '{AmqpMethods.GetName(id)}' on channel 0", id);
                break;
        }
    }

    /// <summary>
    /// connection.open: the vhost must exist and the user must have permissions there, else 530 NOT_ALLOWED closes the
    /// connection, with RabbitMQ's texts.
    /// </summary>
    private void OpenVirtualHost(string vhost, AmqpMethodId id)
    {
        QueueBroker? broker = null;
        bool exists = _vhosts is null ? vhost == VirtualHostRegistry.Default : _vhosts.TryGet(vhost, out broker);
        if (!exists) AmqpConnectionException.Throw(AmqpConstants.NotAllowed, $"NOT_ALLOWED - vhost {vhost} not found", id);
        if (_authorizer is { Enabled: true })
        {
            var permission = _authorizer.Open(UserName, vhost);
            if (permission is null) AmqpConnectionException.Throw(AmqpConstants.NotAllowed, $"NOT_ALLOWED - access to vhost '{vhost}' refused for user '{UserName}'", id);
            Permission = permission.IsFull ? null : permission;
        }
        if (broker is not null) _broker = broker;
        VirtualHost = vhost;
    }

    private X509Certificate2? ClientCertificate => _context.Features.Get<ITlsConnectionFeature>()?.ClientCertificate;

    /// <summary>
    /// A user of the store with the right password (EXTERNAL: the certificate's common name is a user; TLS verified the
    /// certificate), or the built-in default user (<see cref="AmqpOptions.User"/>, guest/guest) when the store has no
    /// user by that name. Only the default user is held to loopback addresses, as RabbitMQ's loopback_users.
    /// </summary>
    private bool LoginAllowed(string mechanism, string? user, string? password)
    {
        if (string.IsNullOrEmpty(user)) return false;
        bool loopback = _context.RemoteEndPoint is not IPEndPoint ip || IPAddress.IsLoopback(ip.Address);
        bool isDefault = _options.User.Length > 0 && user == _options.User;
        if (isDefault && _options.LoopbackUsersOnly && !loopback) return false;
        var stored = _users?.Find(user);
        if (mechanism == "EXTERNAL") return ClientCertificate is not null && stored is not null;
        if (password is null) return false;
        if (stored is not null) return stored.PasswordMatches(password);
        return isDefault && password == _options.Password;
    }

    private void HandleStartOk(ConnectionStartOk startOk)
    {
        string? user = null, password = null;
        byte[] response = Encoding.UTF8.GetBytes(startOk.Response);
        if (startOk.Mechanism == "PLAIN")
        {
            // authzid \0 authcid \0 password (RFC 4616)
            string[] parts = Encoding.UTF8.GetString(response).Split('\0');
            if (parts.Length == 3) (user, password) = (parts[1], parts[2]);
        }
        else if (startOk.Mechanism == "AMQPLAIN")
        {
            // A field table without its length prefix.
            var prefixed = new byte[response.Length + 4];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(prefixed, (uint)response.Length);
            response.CopyTo(prefixed, 4);
            var reader = new AmqpReader(prefixed);
            var table = reader.ReadTable();
            user = QueueArguments.AsString(table?.GetValueOrDefault("LOGIN"));
            password = QueueArguments.AsString(table?.GetValueOrDefault("PASSWORD"));
        }

        _clientHandlesBlocked = startOk.ClientProperties?.GetValueOrDefault("capabilities") is Dictionary<string, object?> capabilities
            && capabilities.GetValueOrDefault("connection.blocked") is true;

        if (startOk.Mechanism == "EXTERNAL") user = ClientCertificate?.GetNameInfo(X509NameType.SimpleName, false);
        if (!LoginAllowed(startOk.Mechanism, user, password))
        {
            Log.AuthenticationFailed(_logger, Id, startOk.Mechanism);
            // Answered after a pause (HandleRefusalAsync), so that guessing passwords is slow.
            _refusal = $"ACCESS_REFUSED - Login was refused using authentication mechanism {startOk.Mechanism}. For details see the broker logfile.";
            return;
        }

        _user = user;
        if (_client is not null)
        {
            var properties = startOk.ClientProperties;
            string? product = QueueArguments.AsString(properties?.GetValueOrDefault("product"));
            string? version = QueueArguments.AsString(properties?.GetValueOrDefault("version"));
            _client.ClientSoftware = product is null ? null : version is null ? product : product + " " + version;
            _client.ClientId = QueueArguments.AsString(properties?.GetValueOrDefault("connection_name"));
            _client.User = user;
        }

        _state = State.AwaitTuneOk;
        Send(0, new ConnectionTune { ChannelMax = _options.ChannelMax, FrameMax = _options.FrameMax, Heartbeat = _options.Heartbeat });
    }

    private void HandleTuneOk(ConnectionTuneOk tuneOk)
    {
        if (tuneOk.FrameMax != 0 && tuneOk.FrameMax < AmqpConstants.FrameMinSize)
        {
            AmqpConnectionException.Throw(AmqpConstants.NotAllowed, $"frame_max {tuneOk.FrameMax} below the minimum {AmqpConstants.FrameMinSize}", AmqpMethodId.ConnectionTuneOk);
        }

        _frameMax = tuneOk.FrameMax == 0 ? _options.FrameMax : Math.Min(tuneOk.FrameMax, _options.FrameMax);
        _channelMax = tuneOk.ChannelMax == 0 ? _options.ChannelMax : Math.Min(tuneOk.ChannelMax, _options.ChannelMax);
        _heartbeat = tuneOk.Heartbeat; // 0: the client turned heartbeats off
        _state = State.AwaitOpen;
        if (_heartbeat > 0) _ = RunHeartbeatsAsync();
    }

    /// <summary>
    /// Sends a heartbeat every half interval and closes the connection when nothing arrived for two
    /// intervals (spec 4.2.7: a peer that misses two heartbeats is dead).
    /// </summary>
    private async Task RunHeartbeatsAsync()
    {
        var interval = TimeSpan.FromSeconds(_heartbeat / 2.0);
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                Enqueue(new Outbound(OutboundKind.Heartbeat, 0, null, null, 0, false));
                long silent = Environment.TickCount64 - Volatile.Read(ref _lastReceivedTicks);
                if (silent > _heartbeat * 2000L && !_blocked)
                {
                    Log.HeartbeatMissed(_logger, Id, _heartbeat);
                    _context.Abort(new ConnectionAbortedException("missed heartbeats"));
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Connection closed.
        }
        catch (ObjectDisposedException)
        {
            // Connection closed.
        }
    }

    private void CloseAllChannels()
    {
        for (int i = 0; i < _channels.Length; i++)
        {
            var channel = _channels[i];
            if (channel is null) continue;
            _channels[i] = null;
            try
            {
                channel.Shutdown();
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException)
            {
                Log.ConnectionLost(_logger, Id, ex.Message);
            }
        }
    }

    /// <summary>The single writer: drains the outbound queue into the pipe, one flush per batch.</summary>
    private async Task RunWriterAsync()
    {
        var output = _context.Transport.Output;
        while (await _outbound.WaitToReadAsync().ConfigureAwait(false))
        {
            while (_outbound.TryRead(out var item))
            {
                if (item.Kind == OutboundKind.Complete) break;
                Write(output, item);
                if (output.UnflushedBytes > 256 * 1024)
                {
                    var partial = await output.FlushAsync().ConfigureAwait(false);
                    if (partial.IsCompleted || partial.IsCanceled) return;
                }
            }

            var flushed = await output.FlushAsync().ConfigureAwait(false);
            if (flushed.IsCompleted || flushed.IsCanceled) return;
        }

        await output.FlushAsync().ConfigureAwait(false);
        await output.CompleteAsync().ConfigureAwait(false);
    }

    private void Write(PipeWriter output, in Outbound item)
    {
        switch (item.Kind)
        {
            case OutboundKind.Frames:
                output.Write((byte[])item.Payload!);
                break;
            case OutboundKind.Deliver:
                var message = (AmqpMessage)item.Payload!;
                AmqpFrameWriter.WriteMethod(output, item.Channel, new BasicDeliver
                {
                    ConsumerTag = item.ConsumerTag!,
                    DeliveryTag = item.Tag,
                    Redelivered = item.Flag,
                    Exchange = message.Exchange,
                    RoutingKey = message.RoutingKey,
                });
                AmqpFrameWriter.WriteContentHeader(output, item.Channel, BasicProperties.ClassId, (ulong)message.BodySize, message.RawProperties);
                AmqpFrameWriter.WriteBody(output, item.Channel, message.Body.Span, _frameMax);
                message.Release(); // copied into the pipe
                break;
            case OutboundKind.Ack:
                AmqpFrameWriter.WriteMethod(output, item.Channel, new BasicAck { DeliveryTag = item.Tag, Multiple = item.Flag });
                break;
            case OutboundKind.Nack:
                AmqpFrameWriter.WriteMethod(output, item.Channel, new BasicNack { DeliveryTag = item.Tag, Multiple = item.Flag, Requeue = false });
                break;
            case OutboundKind.Heartbeat:
                AmqpFrameWriter.WriteHeartbeat(output);
                break;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6101, Level = LogLevel.Debug, Message = "AMQP connection {ConnectionId} lost: {Reason}")]
        public static partial void ConnectionLost(ILogger logger, string connectionId, string reason);

        [LoggerMessage(EventId = 6102, Level = LogLevel.Error, Message = "AMQP connection {ConnectionId} failed")]
        public static partial void ConnectionFailed(ILogger logger, string connectionId, Exception exception);

        [LoggerMessage(EventId = 6103, Level = LogLevel.Debug, Message = "AMQP connection {ConnectionId} sent a wrong protocol header")]
        public static partial void BadProtocolHeader(ILogger logger, string connectionId);

        [LoggerMessage(EventId = 6104, Level = LogLevel.Information, Message = "AMQP connection {ConnectionId} closed with {ReplyCode}: {ReplyText}")]
        public static partial void ConnectionError(ILogger logger, string connectionId, ushort replyCode, string replyText);

        // No user name: a password typed into the user field would end up in the log.
        [LoggerMessage(EventId = 6105, Level = LogLevel.Information, Message = "AMQP connection {ConnectionId}: login with {Mechanism} refused")]
        public static partial void AuthenticationFailed(ILogger logger, string connectionId, string mechanism);

        [LoggerMessage(EventId = 6106, Level = LogLevel.Information, Message = "AMQP connection {ConnectionId} missed heartbeats ({Heartbeat} s): closing")]
        public static partial void HeartbeatMissed(ILogger logger, string connectionId, ushort heartbeat);

        [LoggerMessage(EventId = 6107, Level = LogLevel.Information, Message = "AMQP connection {ConnectionId} blocked: {Reason}")]
        public static partial void Blocked(ILogger logger, string connectionId, string reason);

        [LoggerMessage(EventId = 6108, Level = LogLevel.Information, Message = "AMQP connection {ConnectionId} unblocked")]
        public static partial void Unblocked(ILogger logger, string connectionId);

        [LoggerMessage(EventId = 6109, Level = LogLevel.Information, Message = "AMQP connection {ConnectionId} did not log in and open a vhost within {Seconds} s; closing it")]
        public static partial void LoginTimedOut(ILogger logger, string connectionId, int seconds);
    }
}
