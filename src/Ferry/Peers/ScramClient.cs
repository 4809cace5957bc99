using System.Security.Cryptography;
using System.Text;
using Ferry.Broker.Security;

namespace Ferry.Peers;

/// <summary>
/// The client side of one SCRAM exchange (RFC 5802, RFC 7677), for a node's peer links: client-first, then the
/// client-final message computed from the server-first one, then the server's signature checked. The check matters:
/// a server that returns the right signature knows the stored keys, which only a node holding the cluster secret
/// can derive, so the peer is authenticated too, not only this node to it.
/// </summary>
internal sealed class ScramClient
{
    /// <summary>The iteration counts this client accepts: at least Kafka's minimum, and at most what keeps a hostile server from costing us seconds of PBKDF2.</summary>
    private const int MinIterations = 4096;
    private const int MaxIterations = 65536;

    private readonly ScramMechanism _mechanism;
    private readonly string _user;
    private readonly string _password;
    private readonly string _clientNonce = Convert.ToBase64String(RandomNumberGenerator.GetBytes(24));
    private byte[]? _expectedServerSignature;

    public ScramClient(ScramMechanism mechanism, string user, string password)
    {
        _mechanism = mechanism;
        _user = user;
        _password = password;
    }

    private string ClientFirstBare => $"n={_user.Replace("=", "=3D", StringComparison.Ordinal).Replace(",", "=2C", StringComparison.Ordinal)},r={_clientNonce}";

    /// <summary><c>n,,n=USER,r=CNONCE</c>: no channel binding, no authorization identity.</summary>
    public byte[] ClientFirst() => Encoding.UTF8.GetBytes("n,," + ClientFirstBare);

    /// <summary>The client-final message with the proof, or null when the server-first message is not one to answer.</summary>
    public byte[]? ClientFinal(ReadOnlySpan<byte> serverFirstBytes)
    {
        string serverFirst = Encoding.UTF8.GetString(serverFirstBytes);
        string? nonce = null, salt = null, iterationsText = null;
        foreach (string attribute in serverFirst.Split(','))
        {
            if (attribute.StartsWith("r=", StringComparison.Ordinal)) nonce ??= attribute[2..];
            else if (attribute.StartsWith("s=", StringComparison.Ordinal)) salt ??= attribute[2..];
            else if (attribute.StartsWith("i=", StringComparison.Ordinal)) iterationsText ??= attribute[2..];
        }
        // The server's nonce must extend ours: otherwise this is a replay, not an answer to this exchange.
        if (nonce is null || nonce.Length <= _clientNonce.Length || !nonce.StartsWith(_clientNonce, StringComparison.Ordinal)) return null;
        if (!int.TryParse(iterationsText, System.Globalization.CultureInfo.InvariantCulture, out int iterations)
            || iterations is < MinIterations or > MaxIterations) return null;
        byte[] saltBytes;
        try
        {
            saltBytes = Convert.FromBase64String(salt ?? "");
        }
        catch (FormatException)
        {
            return null;
        }

        byte[] salted = ScramCredential.SaltedPassword(_mechanism, _password, saltBytes, iterations);
        byte[] clientKey = ScramCredential.Hmac(_mechanism, salted, "Client Key"u8);
        byte[] storedKey = ScramCredential.Hash(_mechanism, clientKey);
        string withoutProof = "c=biws,r=" + nonce; // biws = base64("n,,")
        byte[] authMessage = Encoding.UTF8.GetBytes(ClientFirstBare + "," + serverFirst + "," + withoutProof);
        byte[] proof = ScramCredential.Hmac(_mechanism, storedKey, authMessage);
        for (int i = 0; i < proof.Length; i++) proof[i] ^= clientKey[i];
        _expectedServerSignature = ScramCredential.Hmac(_mechanism, ScramCredential.Hmac(_mechanism, salted, "Server Key"u8), authMessage);
        return Encoding.UTF8.GetBytes(withoutProof + ",p=" + Convert.ToBase64String(proof));
    }

    /// <summary>Whether the server-final message carries the signature only a holder of the stored keys can compute.</summary>
    public bool ServerFinalIsValid(ReadOnlySpan<byte> serverFinalBytes)
    {
        string serverFinal = Encoding.UTF8.GetString(serverFinalBytes);
        if (_expectedServerSignature is null || !serverFinal.StartsWith("v=", StringComparison.Ordinal)) return false;
        Span<byte> signature = stackalloc byte[_expectedServerSignature.Length];
        return Convert.TryFromBase64String(serverFinal[2..], signature, out int written) && written == signature.Length
            && CryptographicOperations.FixedTimeEquals(signature, _expectedServerSignature);
    }
}
