using System.Buffers;
using System.Buffers.Binary;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Ferry.Broker.Security;
using Ferry.Kafka;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;

namespace Ferry.Peers;

/// <summary>
/// One connection from this node to a peer's Kafka listener, one request at a time on it (replica fetches, transaction
/// markers). Connects on first use, as the <see cref="PeerLink"/> says: TLS on an SSL listener (this node's certificate
/// as the client's, when it asks for one), and SASL
/// SCRAM-SHA-512 as the cluster's <see cref="PeerPrincipal"/> on a SASL listener, so the peer lets it use the
/// inter-broker APIs. Any failure closes it, and the next request connects again.
/// </summary>
internal sealed class KafkaPeerConnection(string clientId, PeerCredentials? credentials) : IDisposable
{
    private const short SaslHandshakeVersion = 1;
    private const short SaslAuthenticateVersion = 2;
    private readonly SemaphoreSlim _gate = new(1, 1);
    // One request at a time (under the gate), so one frame writer and one size buffer serve them all.
    private readonly ArrayBufferWriter<byte> _frame = new(256);
    private readonly byte[] _size = new byte[4];
    private TcpClient? _tcp;
    private Stream? _stream;
    private PeerLink? _link;
    private int _correlationId;

    public async Task<TResponse> SendAsync<TResponse>(PeerLink link, short apiKey, short version, IKafkaMessage request,
        TimeSpan timeout, CancellationToken cancellationToken) where TResponse : IKafkaMessage, new() =>
        (await SendCoreAsync<TResponse>(link, apiKey, version, request, pooled: false, timeout, cancellationToken).ConfigureAwait(false)).Response;

    /// <summary>
    /// Like <see cref="SendAsync{TResponse}"/>, but the response frame is read into a buffer rented from the shared pool,
    /// which the response's byte fields (a Fetch response's records) point into: dispose its buffer once they are used.
    /// A follower fetches up to replica.fetch.max.bytes (1 MiB) at a time, and a fresh array per fetch went to the large
    /// object heap, whose collections cost the replicated cluster a tenth of its CPU.
    /// </summary>
    public Task<PeerResponse<TResponse>> SendPooledAsync<TResponse>(PeerLink link, short apiKey, short version, IKafkaMessage request,
        TimeSpan timeout, CancellationToken cancellationToken) where TResponse : IKafkaMessage, new() =>
        SendCoreAsync<TResponse>(link, apiKey, version, request, pooled: true, timeout, cancellationToken);

    private async Task<PeerResponse<TResponse>> SendCoreAsync<TResponse>(PeerLink link, short apiKey, short version, IKafkaMessage request,
        bool pooled, TimeSpan timeout, CancellationToken cancellationToken) where TResponse : IKafkaMessage, new()
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        await _gate.WaitAsync(deadline.Token).ConfigureAwait(false);
        try
        {
            // The peer registered another address or listener (restarted with other settings): start over there.
            if (_link != link) Close();
            _stream ??= await ConnectAsync(link, deadline.Token).ConfigureAwait(false);
            _link = link;
            return await ExchangeAsync<TResponse>(_stream, apiKey, version, request, pooled, deadline.Token).ConfigureAwait(false);
        }
        catch
        {
            Close();
            throw;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<Stream> ConnectAsync(PeerLink link, CancellationToken cancellationToken)
    {
        _tcp = new TcpClient { NoDelay = true };
        await _tcp.ConnectAsync(link.Host, link.Port, cancellationToken).ConfigureAwait(false);
        Stream stream = _tcp.GetStream();
        if (link.Tls)
        {
            var tls = new SslStream(stream, leaveInnerStreamOpen: false);
            stream = tls;
            try
            {
                var own = credentials?.ClientCertificate?.Invoke();
                await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                {
                    TargetHost = link.Host,
                    // Presented whenever the listener asks: an SSL listener with --tls-client-ca requires one.
                    LocalCertificateSelectionCallback = own is null ? null : (_, _, _, _, _) => own,
                    EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                    CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                    RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                        errors == SslPolicyErrors.None || (certificate is not null && credentials?.TrustsCertificate?.Invoke(certificate) == true),
                }, cancellationToken).ConfigureAwait(false);
            }
            catch (AuthenticationException e)
            {
                throw new PeerAuthenticationException("TLS: " + e.Message);
            }
        }
        if (link.Sasl) await AuthenticateAsync(stream, cancellationToken).ConfigureAwait(false);
        return stream;
    }

    /// <summary>KIP-152: SaslHandshake v1 names SCRAM-SHA-512, then SaslAuthenticate carries client-first and client-final.</summary>
    private async Task AuthenticateAsync(Stream stream, CancellationToken cancellationToken)
    {
        if (credentials is null) throw new PeerAuthenticationException("the peer's listener wants SASL and this node has no cluster credentials");
        var handshake = (await ExchangeAsync<SaslHandshakeResponse>(stream, ApiKeys.SaslHandshake, SaslHandshakeVersion,
            new SaslHandshakeRequest { Mechanism = "SCRAM-SHA-512" }, pooled: false, cancellationToken).ConfigureAwait(false)).Response;
        if (handshake.ErrorCode != ErrorCodes.None) throw new PeerAuthenticationException($"SaslHandshake answered error {handshake.ErrorCode}");
        var scram = new ScramClient(PeerPrincipal.Mechanism, PeerPrincipal.UserName, Encoding.ASCII.GetString(credentials.Principal.Password));
        var first = (await ExchangeAsync<SaslAuthenticateResponse>(stream, ApiKeys.SaslAuthenticate, SaslAuthenticateVersion,
            new SaslAuthenticateRequest { AuthBytes = scram.ClientFirst() }, pooled: false, cancellationToken).ConfigureAwait(false)).Response;
        if (first.ErrorCode != ErrorCodes.None || scram.ClientFinal(first.AuthBytes) is not { } clientFinal)
            throw new PeerAuthenticationException($"SCRAM client-first answered error {first.ErrorCode}");
        var final = (await ExchangeAsync<SaslAuthenticateResponse>(stream, ApiKeys.SaslAuthenticate, SaslAuthenticateVersion,
            new SaslAuthenticateRequest { AuthBytes = clientFinal }, pooled: false, cancellationToken).ConfigureAwait(false)).Response;
        // A wrong secret on either side ends here: the peer refuses our proof, or we refuse its signature.
        if (final.ErrorCode != ErrorCodes.None) throw new PeerAuthenticationException($"SCRAM client-final answered error {final.ErrorCode}");
        if (!scram.ServerFinalIsValid(final.AuthBytes)) throw new PeerAuthenticationException("the peer's SCRAM signature is wrong (another cluster secret)");
    }

    private async Task<PeerResponse<TResponse>> ExchangeAsync<TResponse>(Stream stream, short apiKey, short version, IKafkaMessage request,
        bool pooled, CancellationToken cancellationToken) where TResponse : IKafkaMessage, new()
    {
        int correlationId = ++_correlationId;
        var body = _frame;
        body.ResetWrittenCount();
        body.GetSpan(4);
        body.Advance(4); // the size, written below
        var writer = new KafkaWriter(body);
        new RequestHeader { RequestApiKey = apiKey, RequestApiVersion = version, CorrelationId = correlationId, ClientId = clientId }
            .Write(writer, ApiKeys.RequestHeaderVersion(apiKey, version));
        request.Write(writer, version);
        var frame = body.WrittenMemory;
        BinaryPrimitives.WriteInt32BigEndian(System.Runtime.InteropServices.MemoryMarshal.AsMemory(frame).Span, frame.Length - 4);
        await stream.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);

        await stream.ReadExactlyAsync(_size, cancellationToken).ConfigureAwait(false);
        int size = BinaryPrimitives.ReadInt32BigEndian(_size);
        if (size is < 4 or > 256 << 20) throw new IOException($"Replica response of {size} bytes.");
        byte[] payload = pooled ? ArrayPool<byte>.Shared.Rent(size) : new byte[size];
        try
        {
            await stream.ReadExactlyAsync(payload.AsMemory(0, size), cancellationToken).ConfigureAwait(false);
            var reader = new KafkaReader(payload.AsMemory(0, size));
            var header = new ResponseHeader();
            header.Read(ref reader, ApiKeys.ResponseHeaderVersion(apiKey, version));
            if (header.CorrelationId != correlationId) throw new IOException("Replica response out of order.");
            var response = new TResponse();
            response.Read(ref reader, version);
            return new PeerResponse<TResponse>(response, pooled ? new PooledBuffer(payload) : null);
        }
        catch when (pooled)
        {
            ArrayPool<byte>.Shared.Return(payload);
            throw;
        }
    }

    private void Close()
    {
        _stream?.Dispose();
        _tcp?.Dispose();
        _stream = null;
        _tcp = null;
        _link = null;
    }

    public void Dispose() => Close();
}

/// <summary>A peer's response and, when it was read into a pooled buffer, that buffer: dispose once the response is used.</summary>
internal readonly record struct PeerResponse<TResponse>(TResponse Response, PooledBuffer? Buffer);
