using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Ferry.Tests;

/// <summary>
/// A throw-away certificate authority with a server certificate (127.0.0.1 and localhost) and a client
/// certificate, as PEM files in a temporary directory: what <c>--tls-cert</c>, <c>--tls-key</c> and
/// <c>--tls-client-ca</c> name, and what the clients trust and present.
/// </summary>
internal sealed class TestCertificates : IDisposable
{
    private readonly ECDsa _caKey;
    private readonly X509Certificate2 _ca;

    private TestCertificates(string directory)
    {
        Directory = directory;
        _caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=Ferry Test CA", _caKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        _ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        File.WriteAllText(CaFile, _ca.ExportCertificatePem());
    }

    public string Directory { get; }
    public string CaFile => Path.Combine(Directory, "ca.pem");
    public string ServerCertificateFile => Path.Combine(Directory, "server.pem");
    public string ServerKeyFile => Path.Combine(Directory, "server.key");
    public string ClientCertificateFile => Path.Combine(Directory, "client.pem");
    public string ClientKeyFile => Path.Combine(Directory, "client.key");

    /// <summary>The serial number of the server certificate last written.</summary>
    public string ServerSerial { get; private set; } = "";

    public static TestCertificates Create(string clientCommonName = "ferry-client")
    {
        string directory = Path.Combine(Path.GetTempPath(), "ferry-tls-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        var certificates = new TestCertificates(directory);
        certificates.WriteServer();
        certificates.WriteLeaf("CN=" + clientCommonName + ",O=Ferry Tests", certificates.ClientCertificateFile, certificates.ClientKeyFile, server: false);
        return certificates;
    }

    /// <summary>Issues a new server certificate over the old files (renewal), returning its serial number.</summary>
    public string WriteServer()
    {
        ServerSerial = WriteLeaf("CN=localhost", ServerCertificateFile, ServerKeyFile, server: true);
        return ServerSerial;
    }

    /// <summary>The client certificate with its key, for .NET clients.</summary>
    public X509Certificate2 LoadClientCertificate()
    {
        using var pem = X509Certificate2.CreateFromPemFile(ClientCertificateFile, ClientKeyFile);
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>Whether <paramref name="certificate"/> chains to this authority: what a client checks of the server.</summary>
    public bool IsTrusted(X509Certificate? certificate)
    {
        if (certificate is null) return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(_ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(certificate);
        return chain.Build(leaf);
    }

    public X509Certificate2 LoadCa() => X509CertificateLoader.LoadCertificate(_ca.RawData);

    private string WriteLeaf(string subject, string certificateFile, string keyFile, bool server)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid(server ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(_ca, true, false));
        if (server)
        {
            var names = new SubjectAlternativeNameBuilder();
            names.AddDnsName("localhost");
            names.AddIpAddress(System.Net.IPAddress.Loopback);
            request.CertificateExtensions.Add(names.Build());
        }
        byte[] serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        using var certificate = request.Create(_ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7), serial);
        // Written to new files and renamed over the old, as a renewal job does: a reader never sees half a file.
        File.WriteAllText(keyFile + ".new", key.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(certificateFile + ".new", certificate.ExportCertificatePem());
        File.Move(keyFile + ".new", keyFile, overwrite: true);
        File.Move(certificateFile + ".new", certificateFile, overwrite: true);
        return certificate.SerialNumber;
    }

    public void Dispose()
    {
        _ca.Dispose();
        _caKey.Dispose();
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }
}
