using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using DotNext.Net.Security;

namespace Ferry.Cluster.Raft;

/// <summary>
/// Authenticates the quorum's TCP links with the cluster's shared secret: every node makes a fresh self-signed
/// certificate at start whose extension holds HMAC-SHA256(secret, its public key), and both ends of a link (mutual
/// TLS) accept only a peer certificate carrying a valid tag for its own key. Without the secret nobody can mint such a
/// certificate, and a copied one is useless without its private key, which TLS makes the peer prove; the Raft
/// traffic is encrypted on the way. A client that does not speak TLS, or speaks garbage, fails the handshake and is
/// dropped before DotNext reads a byte of it.
/// </summary>
internal static class PeerCertificate
{
    /// <summary>Ferry's extension for the tag (a private OID under the UUID arc, 2.25, derived from a fixed UUID).</summary>
    private const string TagOid = "2.25.163240327925716153390185497530094561417";

    public static SslOptions SslOptions(string secret, int nodeId)
    {
        var key = Encoding.UTF8.GetBytes(secret);
        var certificate = Create(key, nodeId);
        bool Validate(object sender, X509Certificate? presented, X509Chain? chain, SslPolicyErrors errors) => IsPeer(presented, key);
        return new SslOptions
        {
            ServerOptions = new SslServerAuthenticationOptions
            {
                ServerCertificate = certificate,
                ClientCertificateRequired = true,
                RemoteCertificateValidationCallback = Validate,
            },
            ClientOptions = new SslClientAuthenticationOptions
            {
                TargetHost = "ferry-cluster",
                ClientCertificates = [certificate],
                LocalCertificateSelectionCallback = (_, _, _, _, _) => certificate,
                RemoteCertificateValidationCallback = Validate,
            },
        };
    }

    internal static X509Certificate2 Create(byte[] secret, int nodeId)
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN=ferry-node-{nodeId}", ecdsa, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509Extension(TagOid, Tag(secret, request.PublicKey.ExportSubjectPublicKeyInfo()), critical: false));
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(10));
        // SslStream on Linux wants a certificate whose private key it can use for the server side: a PKCS#12 round trip gives one.
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), password: null);
    }

    internal static bool IsPeer(X509Certificate? presented, byte[] secret)
    {
        if (presented is null) return false;
        using var certificate = new X509Certificate2(presented);
        if (certificate.Extensions[TagOid] is not { } extension) return false;
        var expected = Tag(secret, certificate.PublicKey.ExportSubjectPublicKeyInfo());
        return CryptographicOperations.FixedTimeEquals(extension.RawData, expected);
    }

    private static byte[] Tag(byte[] secret, byte[] subjectPublicKeyInfo) => HMACSHA256.HashData(secret, subjectPublicKeyInfo);
}
