using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Threading.Channels;
using Ferry.Broker.Connections;
using Ferry.Kafka.Handlers;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Security;
using Ferry.Kafka.Server;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ferry.Kafka;

/// <summary>
/// One Kafka client connection: reads size-prefixed requests from the transport, starts each handler in
/// request order, and writes the responses in request order as they complete.
/// </summary>
/// <remarks>
/// Two loops per connection. The read loop parses a request and runs its handler up to the first await
/// (so appends to a partition happen in the order requests arrived), then queues the pending response and
/// reads on. The write loop awaits the pending responses one by one and writes them, flushing when it runs
/// out of ready responses. A produce waiting for fsync or a fetch waiting for data thus does not stop the
/// requests behind it from being read and handled, while clients still get answers in order, as the
/// protocol requires. The queue is bounded, so a client cannot pile up unbounded work.
/// </remarks>
public sealed partial class KafkaConnectionHandler(
    KafkaHandlerRegistry handlers,
    ConnectionRegistry connections,
    ProduceThrottle throttle,
    IOptions<KafkaOptions> options,
    ILogger<KafkaConnectionHandler> logger) : ConnectionHandler
{
    private readonly KafkaOptions _options = options.Value;

    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        var pending = Channel.CreateBounded<PendingResponse>(new BoundedChannelOptions(_options.MaxInFlightPerConnection)
        {
            SingleReader = true,
            SingleWriter = true,
        });
        var client = connections.Register(connection.ConnectionId, "kafka", connection.RemoteEndPoint, connection.LocalEndPoint);
        var writer = WriteResponsesAsync(connection, pending.Reader);
        var input = connection.Transport.Input;
        var listener = connection.Features.Get<KafkaListenerFeature>() ?? PlaintextListener;
        var certificate = connection.Features.Get<ITlsConnectionFeature>()?.ClientCertificate;
        var session = new KafkaSession(listener, certificate is null ? null : CertificatePrincipal.Name(certificate), HostOf(connection.RemoteEndPoint));
        var appendOrder = new ProduceAppendOrder();
        bool first = true;
        // Server shutdown asks connections to close: stop reading new requests, answer the ones in progress
        // (long-polls return at once), then close. Kafka clients reconnect elsewhere or retry.
        var closing = connection.Features.Get<IConnectionLifetimeNotificationFeature>()?.ConnectionClosedRequested ?? CancellationToken.None;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed, closing);
        // Before authentication costs little: a client on a SASL listener that has not logged in in time is closed.
        using var served = new CancellationTokenSource();
        if (!session.Authenticated) _ = CloseUnauthenticatedAsync(connection, session, served.Token);
        try
        {
            while (true)
            {
                var result = await input.ReadAsync(stop.Token).ConfigureAwait(false);
                var buffer = result.Buffer;
                try
                {
                    if (first && !buffer.IsEmpty)
                    {
                        first = false;
                        if (!listener.Tls && LooksLikeTlsHandshake(buffer))
                        {
                            TlsOnPlaintext(logger, connection.ConnectionId);
                            break;
                        }
                    }
                    while (KafkaFrame.TryRead(ref buffer, session.Authenticated ? _options.MaxRequestBytes : _options.MaxRequestBytesBeforeAuthentication, out var frame))
                    {
                        var response = Dispatch(connection, client, session, appendOrder, frame, stop.Token);
                        if (response is { } queued)
                        {
                            await pending.Writer.WriteAsync(queued, stop.Token).ConfigureAwait(false);
                            // KIP-219: the throttled response goes out first (the write loop is not held up), then the
                            // connection is muted: nothing more is read from it for the throttle time, so the producer
                            // slows down even if it ignores the field. Requests already read wait in the buffer.
                            if (queued.ThrottleTimeMs > 0) await Task.Delay(queued.ThrottleTimeMs, stop.Token).ConfigureAwait(false);
                        }
                        if (session.Failed) break;
                    }
                    if (session.Failed) break;
                }
                finally
                {
                    input.AdvanceTo(buffer.Start, buffer.End);
                }
                if (result.IsCompleted) break;
            }
        }
        catch (KafkaProtocolException ex)
        {
            MalformedRequest(logger, connection.ConnectionId, ex.Message);
        }
        catch (UnknownApiException ex)
        {
            UnknownApi(logger, connection.ConnectionId, ex.ApiKey, ex.ApiVersion);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ConnectionResetException or IOException)
        {
            // The client went away or the server is stopping: nothing to answer.
        }
        finally
        {
            await served.CancelAsync().ConfigureAwait(false);
            pending.Writer.TryComplete();
            await writer.ConfigureAwait(false);
            connections.Unregister(client);
        }
    }

    private async Task CloseUnauthenticatedAsync(ConnectionContext connection, KafkaSession session, CancellationToken served)
    {
        try
        {
            await Task.Delay(_options.AuthenticationTimeout, served).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return; // the connection ended first
        }
        if (session.Authenticated) return;
        AuthenticationTimedOut(logger, connection.ConnectionId, (int)_options.AuthenticationTimeout.TotalSeconds);
        connection.Abort(new ConnectionAbortedException("SASL authentication timed out"));
    }

    private static readonly KafkaListenerFeature PlaintextListener = new(KafkaSecurityProtocol.Plaintext);

    /// <summary>
    /// A TLS record header (handshake 0x16, version 3.x): a client configured for SSL on a plaintext port. Read as a
    /// Kafka size it is 369 MB or more; closing at once is clearer and keeps Ferry from waiting on such a frame.
    /// </summary>
    private static bool LooksLikeTlsHandshake(ReadOnlySequence<byte> buffer)
    {
        var first = buffer.FirstSpan;
        return first[0] == 0x16 && (first.Length < 2 || first[1] == 0x03);
    }

    /// <summary>The address ACL hosts are compared with; an IPv4 client on a dual-stack socket as plain IPv4.</summary>
    private static string HostOf(System.Net.EndPoint? endPoint) => endPoint is System.Net.IPEndPoint ip
        ? (ip.Address.IsIPv4MappedToIPv6 ? ip.Address.MapToIPv4() : ip.Address).ToString()
        : "";

    /// <summary>Parses the header, finds the handler and starts it. Returns null when no response is due.</summary>
    private PendingResponse? Dispatch(ConnectionContext connection, ClientConnection client, KafkaSession session, ProduceAppendOrder appendOrder,
        ReadOnlySequence<byte> frame, CancellationToken closing)
    {
        long started = Stopwatch.GetTimestamp();
        int length = (int)frame.Length;
        // The request's bytes live only until its handler returns from its synchronous part (handlers copy what
        // they keep; appends are done by then), so the buffer goes back to the pool on this thread, at once.
        byte[] bytes = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            frame.CopyTo(bytes);
            short apiKey = BinaryPrimitives.ReadInt16BigEndian(bytes);
            short apiVersion = BinaryPrimitives.ReadInt16BigEndian(bytes.AsSpan(2));
            // Before SASL has succeeded only the handshake is served (Kafka closes the connection too).
            if (!session.Authenticated && apiKey is not (ApiKeys.ApiVersions or ApiKeys.SaslHandshake or ApiKeys.SaslAuthenticate))
                throw new KafkaProtocolException($"API {apiKey} before SASL authentication");
            var handler = handlers.Find(apiKey);
            if (handler is null || !ApiKeys.TryGet(apiKey, out _)) throw new UnknownApiException(apiKey, apiVersion);

            var header = new RequestHeader();
            var memory = bytes.AsMemory(0, length);
            var reader = new KafkaReader(memory);
            header.Read(ref reader, ApiKeys.RequestHeaderVersion(apiKey, apiVersion));
            // Clients send the same client.id on every request; only a change is worth a write.
            if (!string.Equals(client.ClientId, header.ClientId, StringComparison.Ordinal)) client.ClientId = header.ClientId;
            var body = memory[reader.Position..];
            if (apiKey == ApiKeys.ApiVersions && apiVersion >= 3 && apiVersion <= handler.MaxVersion && client.ClientSoftware is null) NoteClientSoftware(client, body, apiVersion);

            // Only Produce is throttled under memory pressure; Fetch, which drains memory, never is.
            int throttleTimeMs = apiKey == ApiKeys.Produce ? throttle.Next(connection.ConnectionId) : 0;
            var context = new KafkaRequestContext
            {
                ThrottleTimeMs = throttleTimeMs,
                ConnectionId = connection.ConnectionId,
                ApiKey = apiKey,
                ApiVersion = apiVersion,
                CorrelationId = header.CorrelationId,
                ClientId = header.ClientId,
                LocalEndPoint = connection.LocalEndPoint,
                RemoteEndPoint = connection.RemoteEndPoint,
                ConnectionClosed = closing,
                Session = session,
                AppendOrder = appendOrder,
            };

            ValueTask<IKafkaMessage?> response;
            short responseVersion = apiVersion;
            if (apiKey == ApiKeys.ApiVersions && apiVersion > handler.MaxVersion)
            {
                // ApiVersions answers an unknown version in v0 format with the supported ranges, so the client
                // can pick one (KIP-35, KIP-511).
                response = new ValueTask<IKafkaMessage?>(ApiVersionsHandler.Unsupported(handlers));
                responseVersion = 0;
            }
            else if (apiVersion < handler.MinVersion || apiVersion > handler.MaxVersion)
            {
                // A version the schema knows but Ferry does not serve gets UNSUPPORTED_VERSION in the response the
                // client expects; one beyond the schema cannot be written in any form it could read, so the
                // connection closes, as Kafka's does.
                var refusal = handler.ErrorResponse(body, apiVersion, ErrorCodes.UnsupportedVersion)
                    ?? throw new UnknownApiException(apiKey, apiVersion);
                UnsupportedVersion(logger, connection.ConnectionId, apiKey, apiVersion, handler.MinVersion, handler.MaxVersion);
                response = new ValueTask<IKafkaMessage?>(refusal);
            }
            else
            {
                response = handler.HandleAsync(context, body);
            }
            return new PendingResponse(header.CorrelationId, apiKey, responseVersion, response, started, throttleTimeMs);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    /// <summary>
    /// ApiVersions v3+ names the client library (KIP-511), once per connection, before anything else: what
    /// operators see as the connection's client software. A body we cannot parse is left to the handler to reject.
    /// </summary>
    private static void NoteClientSoftware(ClientConnection client, ReadOnlyMemory<byte> body, short apiVersion)
    {
        try
        {
            var request = new ApiVersionsRequest();
            var reader = new KafkaReader(body);
            request.Read(ref reader, apiVersion);
            if (request.ClientSoftwareName.Length > 0) client.ClientSoftware = (request.ClientSoftwareName + " " + request.ClientSoftwareVersion).TrimEnd();
        }
        catch (KafkaProtocolException)
        {
            // The handler answers it.
        }
    }

    private async Task WriteResponsesAsync(ConnectionContext connection, ChannelReader<PendingResponse> pending)
    {
        var output = connection.Transport.Output;
        try
        {
            while (await pending.WaitToReadAsync().ConfigureAwait(false))
            {
                while (pending.TryRead(out var item))
                {
                    var response = await item.Response.ConfigureAwait(false);
                    KafkaMetrics.RecordRequest(item.ApiKey, Stopwatch.GetElapsedTime(item.Started));
                    if (response is null) continue; // acks=0: the client expects nothing
                    try
                    {
                        WriteResponse(output, item, response);
                    }
                    finally
                    {
                        // Fetch responses hold log segments until their records are written.
                        (response as IDisposable)?.Dispose();
                    }
                    if (output.UnflushedBytes > 256 * 1024) await output.FlushAsync().ConfigureAwait(false);
                }
                var flushed = await output.FlushAsync().ConfigureAwait(false);
                if (flushed.IsCompleted) break;
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ConnectionResetException or IOException)
        {
            // The connection is gone.
        }
        catch (Exception ex)
        {
            HandlerFailed(logger, connection.ConnectionId, ex);
            connection.Abort();
        }
        finally
        {
            // Release what responses that will never be written hold (fetches: segment references).
            while (pending.TryRead(out var item))
            {
                try { ((await item.Response.ConfigureAwait(false)) as IDisposable)?.Dispose(); }
                catch (Exception) { /* the connection is closing */ }
            }
        }
    }

    /// <summary>Size int32 | CorrelationId int32 | [tagged fields, header v1] | body.</summary>
    private static void WriteResponse(PipeWriter output, PendingResponse item, IKafkaMessage response)
    {
        short headerVersion = ApiKeys.ResponseHeaderVersion(item.ApiKey, item.ApiVersion);
        int bodySize = response.ComputeSize(item.ApiVersion);
        int headerSize = headerVersion >= 1 ? 5 : 4;
        var writer = new KafkaWriter(output);
        writer.WriteInt32(headerSize + bodySize);
        writer.WriteInt32(item.CorrelationId);
        if (headerVersion >= 1) writer.WriteEmptyTaggedFields();
        response.Write(writer, item.ApiVersion);
    }

    private readonly record struct PendingResponse(int CorrelationId, short ApiKey, short ApiVersion,
        ValueTask<IKafkaMessage?> Response, long Started, int ThrottleTimeMs);

    private sealed class UnknownApiException(short apiKey, short apiVersion) : Exception($"Unknown API {apiKey} v{apiVersion}")
    {
        public short ApiKey { get; } = apiKey;
        public short ApiVersion { get; } = apiVersion;
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Connection {ConnectionId} sent a malformed request and is closed: {Reason}")]
    private static partial void MalformedRequest(ILogger logger, string connectionId, string reason);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Connection {ConnectionId} asked for API {ApiKey} v{ApiVersion}, which Ferry does not serve; closing it")]
    private static partial void UnknownApi(ILogger logger, string connectionId, short apiKey, short apiVersion);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Information, Message = "Connection {ConnectionId} asked for API {ApiKey} v{ApiVersion}; Ferry serves v{MinVersion}-{MaxVersion} and answered UNSUPPORTED_VERSION")]
    private static partial void UnsupportedVersion(ILogger logger, string connectionId, short apiKey, short apiVersion, short minVersion, short maxVersion);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Information, Message = "Connection {ConnectionId} began a TLS handshake on a plaintext Kafka listener (a client configured for SSL?); closing it")]
    private static partial void TlsOnPlaintext(ILogger logger, string connectionId);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Information, Message = "Connection {ConnectionId} did not authenticate within {Seconds} s; closing it")]
    private static partial void AuthenticationTimedOut(ILogger logger, string connectionId, int seconds);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Error, Message = "A request handler failed on connection {ConnectionId}; closing it")]
    private static partial void HandlerFailed(ILogger logger, string connectionId, Exception exception);
}
