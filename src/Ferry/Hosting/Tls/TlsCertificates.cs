using System.Net.Security;
using System.Runtime.InteropServices;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Ferry.Configuration;

namespace Ferry.Hosting.Tls;

/// <summary>
/// The server certificate and the client-certificate authorities of every TLS listener, read from PEM files and
/// read again when they change: a handshake looks at the files' modification times at most once a second, and
/// SIGHUP makes the next handshake look at once. A file that fails to load (half written by a renewal job)
/// leaves the previous certificate in use and is tried again on the next change.
/// </summary>
internal sealed partial class TlsCertificates : IDisposable
{
    private readonly TlsSettings _settings;
    private readonly ILogger _logger;
    private readonly PosixSignalRegistration? _hangup;
    private readonly Lock _reloading = new();
    private volatile Loaded _current;
    private long _nextCheck;

    public TlsCertificates(TlsSettings settings, ILogger<TlsCertificates> logger)
    {
        if (string.IsNullOrEmpty(settings.CertificateFile) || string.IsNullOrEmpty(settings.KeyFile))
            throw new InvalidDataException("A TLS listener needs --tls-cert FILE and --tls-key FILE (Tls:CertificateFile, Tls:KeyFile), PEM.");
        _settings = settings;
        _logger = logger;
        try
        {
            _current = Load();
        }
        catch (System.Security.Cryptography.CryptographicException ex)
        {
            throw new InvalidDataException($"TLS certificate {settings.CertificateFile} or key {settings.KeyFile} cannot be loaded: {ex.Message}", ex);
        }
        _nextCheck = Environment.TickCount64 + 1000;
        if (!OperatingSystem.IsWindows())
        {
            _hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
            {
                context.Cancel = true; // SIGHUP reloads; it does not stop the process
                Volatile.Write(ref _nextCheck, 0);
            });
        }
    }

    /// <summary>Whether client certificates are verified (<c>--tls-client-ca</c> given).</summary>
    public bool VerifiesClients => !string.IsNullOrEmpty(_settings.ClientCaFile);

    /// <summary>
    /// Options for one handshake. With a client CA, a certificate is asked for; <paramref name="requireClientCertificate"/>
    /// decides whether a client without one is turned away (SSL and amqps listeners: mutual TLS is their
    /// authentication) or let through to authenticate otherwise (SASL_SSL, https).
    /// </summary>
    public SslServerAuthenticationOptions ServerOptions(bool requireClientCertificate)
    {
        var current = Current();
        return new SslServerAuthenticationOptions
        {
            ServerCertificateContext = current.Context,
            // TLS 1.0 and 1.1 are broken and deprecated (RFC 8996).
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            ClientCertificateRequired = current.ClientAuthorities is not null,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            RemoteCertificateValidationCallback = current.ClientAuthorities is null
                ? null
                : (_, certificate, _, _) => certificate is null
                    ? !requireClientCertificate
                    : IsTrustedClient(certificate, current.ClientAuthorities),
        };
    }

    /// <summary>
    /// This node's certificate with its key, as it is now: what it presents as a client on its peer links, so that an SSL
    /// listener that requires client certificates (<c>--tls-client-ca</c>) admits the node when its CA issued it.
    /// </summary>
    public X509Certificate2 Certificate => Current().Context.TargetCertificate;

    /// <summary>
    /// Whether a peer node's Kafka listener may present <paramref name="certificate"/>: this node's own certificate (the
    /// usual deployment: one certificate for the cluster) or one issued by the client-certificate authorities. The
    /// system's roots are checked by the caller first. The peer proves the cluster secret on top of it (SCRAM).
    /// </summary>
    public bool IsTrustedPeer(X509Certificate certificate)
    {
        var current = Current();
        using var presented = new X509Certificate2(certificate);
        if (current.Context.TargetCertificate.RawData.AsSpan().SequenceEqual(presented.RawData)) return true;
        return current.ClientAuthorities is not null && IsTrustedClient(certificate, current.ClientAuthorities);
    }

    private static bool IsTrustedClient(X509Certificate certificate, X509Certificate2Collection authorities)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(certificate);
        return chain.Build(leaf);
    }

    private Loaded Current()
    {
        long now = Environment.TickCount64;
        if (now < Volatile.Read(ref _nextCheck)) return _current;
        lock (_reloading)
        {
            if (now < _nextCheck) return _current;
            _nextCheck = now + 1000;
            var current = _current;
            if (current.Stamp != Stamp())
            {
                try
                {
                    _current = Load();
                    Reloaded(_logger, _settings.CertificateFile!);
                }
                catch (Exception ex) when (ex is IOException or System.Security.Cryptography.CryptographicException or ArgumentException or UnauthorizedAccessException)
                {
                    ReloadFailed(_logger, _settings.CertificateFile!, ex.Message);
                    // Look again at the next change, not on every handshake.
                    _current = current with { Stamp = Stamp() };
                }
            }
            return _current;
        }
    }

    private string Stamp() => string.Join('|',
        File.GetLastWriteTimeUtc(_settings.CertificateFile!).Ticks,
        File.GetLastWriteTimeUtc(_settings.KeyFile!).Ticks,
        string.IsNullOrEmpty(_settings.ClientCaFile) ? 0 : File.GetLastWriteTimeUtc(_settings.ClientCaFile).Ticks);

    private Loaded Load()
    {
        string stamp = Stamp();
        using var pem = X509Certificate2.CreateFromPemFile(_settings.CertificateFile!, _settings.KeyFile);
        // The key from a PEM file is ephemeral; a PKCS#12 round trip gives SslStream a key it can use on every platform.
        var certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        // The rest of the certificate file is the chain sent to clients (intermediates).
        var chain = new X509Certificate2Collection();
        chain.ImportFromPemFile(_settings.CertificateFile!);
        var intermediates = new X509Certificate2Collection();
        foreach (var c in chain)
        {
            if (c.Thumbprint != certificate.Thumbprint) intermediates.Add(c);
        }
        var context = SslStreamCertificateContext.Create(certificate, intermediates, offline: true);
        X509Certificate2Collection? authorities = null;
        if (!string.IsNullOrEmpty(_settings.ClientCaFile))
        {
            authorities = [];
            authorities.ImportFromPemFile(_settings.ClientCaFile);
            if (authorities.Count == 0) throw new InvalidDataException($"{_settings.ClientCaFile}: no PEM certificate in it.");
        }
        return new Loaded(context, authorities, stamp);
    }

    public void Dispose() => _hangup?.Dispose();

    private sealed record Loaded(SslStreamCertificateContext Context, X509Certificate2Collection? ClientAuthorities, string Stamp);

    [LoggerMessage(EventId = 20, Level = LogLevel.Information, Message = "TLS certificate reloaded from {File}")]
    private static partial void Reloaded(ILogger logger, string file);

    [LoggerMessage(EventId = 21, Level = LogLevel.Warning, Message = "TLS certificate {File} changed but cannot be loaded; still serving the previous one: {Reason}")]
    private static partial void ReloadFailed(ILogger logger, string file, string reason);
}
