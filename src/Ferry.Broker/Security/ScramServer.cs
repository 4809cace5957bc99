using System.Security.Cryptography;
using System.Text;

namespace Ferry.Broker.Security;

/// <summary>
/// The server side of one SCRAM exchange (RFC 5802, RFC 7677), protocol-neutral: Kafka's SaslAuthenticate carries
/// its messages. Two steps: the client-first message is answered with the server-first message; the client-final
/// message is checked and answered with the server signature.
/// </summary>
/// <remarks>
/// <code>
/// client-first  n,,n=alice,r=CNONCE
/// server-first  r=CNONCE+SNONCE,s=SALT,i=4096
/// client-final  c=biws,r=CNONCE+SNONCE,p=PROOF
/// server-final  v=SERVERSIGNATURE
/// </code>
/// The client-final nonce must be exactly the one this server sent (CVE-2024-56128: Kafka once checked none of it),
/// and the proof is compared in constant time. An unknown user runs the same exchange against a made-up credential,
/// so the answer does not tell which names exist. The cluster's <see cref="PeerPrincipal"/> is looked up here, not in
/// the user store, and only when this node is in a cluster and the mechanism is SCRAM-SHA-512.
/// </remarks>
public sealed class ScramServer
{
    private readonly ScramMechanism _mechanism;
    private readonly IUserStore _users;
    private readonly PeerPrincipal? _peer;
    private string? _user;
    private ScramCredential? _credential;
    private string _gs2Header = "";
    private string _clientFirstBare = "";
    private string _serverFirst = "";
    private string _nonce = "";
    private string _clientNonce = "";

    public ScramServer(ScramMechanism mechanism, IUserStore users, PeerPrincipal? peer = null)
    {
        _mechanism = mechanism;
        _users = users;
        _peer = peer;
    }

    /// <summary>The authenticated user, once <see cref="Step"/> has returned <see cref="ScramStep.Succeeded"/>.</summary>
    public string? User { get; private set; }

    /// <summary>True when the authenticated user is the cluster's peer principal (proved with the cluster secret).</summary>
    public bool IsPeer => User is not null && IsPeerName(User);

    private bool IsPeerName(string user) => _peer is not null && _mechanism == PeerPrincipal.Mechanism && user == PeerPrincipal.UserName;

    public static bool TryParseMechanism(string name, out ScramMechanism mechanism)
    {
        mechanism = name == "SCRAM-SHA-512" ? ScramMechanism.Sha512 : ScramMechanism.Sha256;
        return name is "SCRAM-SHA-256" or "SCRAM-SHA-512";
    }

    /// <summary>Takes the client's next message; <paramref name="response"/> is what to send back.</summary>
    public ScramStep Step(ReadOnlySpan<byte> message, out byte[] response)
    {
        response = [];
        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(message);
        }
        catch (DecoderFallbackException)
        {
            return ScramStep.Failed;
        }
        return _user is null ? ClientFirst(text, out response) : ClientFinal(text, out response);
    }

    private ScramStep ClientFirst(string message, out byte[] response)
    {
        response = [];
        // gs2-header: "n," or "y," (no channel binding), then an optional authzid "a=NAME", then ",".
        if (!(message.StartsWith("n,", StringComparison.Ordinal) || message.StartsWith("y,", StringComparison.Ordinal))) return ScramStep.Failed;
        int headerEnd = message.IndexOf(',', 2);
        if (headerEnd < 0) return ScramStep.Failed;
        string authzid = message[2..headerEnd];
        _gs2Header = message[..(headerEnd + 1)];
        _clientFirstBare = message[(headerEnd + 1)..];
        string? user = null, clientNonce = null;
        foreach (string attribute in _clientFirstBare.Split(','))
        {
            if (attribute.StartsWith("n=", StringComparison.Ordinal)) user ??= Unescape(attribute[2..]);
            else if (attribute.StartsWith("r=", StringComparison.Ordinal)) clientNonce ??= attribute[2..];
            else if (attribute.StartsWith("m=", StringComparison.Ordinal)) return ScramStep.Failed; // mandatory extension we do not know
        }
        if (string.IsNullOrEmpty(user) || string.IsNullOrEmpty(clientNonce) || clientNonce.Contains(',', StringComparison.Ordinal)) return ScramStep.Failed;
        if (authzid.Length > 0 && (!authzid.StartsWith("a=", StringComparison.Ordinal) || Unescape(authzid[2..]) != user)) return ScramStep.Failed;

        _user = user;
        _credential = IsPeerName(user) ? _peer!.Credential
            : PeerPrincipal.IsReserved(user) ? Decoy(user)
            : _users.Find(user)?.Credential(_mechanism) ?? Decoy(user);
        _clientNonce = clientNonce;
        _nonce = clientNonce + Convert.ToBase64String(RandomNumberGenerator.GetBytes(24));
        _serverFirst = $"r={_nonce},s={Convert.ToBase64String(_credential.Salt)},i={_credential.Iterations}";
        response = Encoding.UTF8.GetBytes(_serverFirst);
        return ScramStep.Continue;
    }

    private ScramStep ClientFinal(string message, out byte[] response)
    {
        response = [];
        int proofAt = message.LastIndexOf(",p=", StringComparison.Ordinal);
        if (proofAt < 0 || _credential is null) return ScramStep.Failed;
        string withoutProof = message[..proofAt];
        string? channelBinding = null, nonce = null;
        foreach (string attribute in withoutProof.Split(','))
        {
            if (attribute.StartsWith("c=", StringComparison.Ordinal)) channelBinding ??= attribute[2..];
            else if (attribute.StartsWith("r=", StringComparison.Ordinal)) nonce ??= attribute[2..];
        }
        if (channelBinding != Convert.ToBase64String(Encoding.UTF8.GetBytes(_gs2Header))) return ScramStep.Failed;
        // The whole nonce, the client's part and ours: a forged or replayed one is refused. librdkafka before 2.6.1
        // sends the client's part twice (client nonce + our whole nonce; librdkafka#4895), which Kafka 3.x accepted;
        // that exact form still carries all of our fresh nonce, so it is accepted too (Debian's kcat sends it).
        if (nonce is null || !(SameNonce(nonce, _nonce) || SameNonce(nonce, _clientNonce + _nonce))) return ScramStep.Failed;

        Span<byte> proof = stackalloc byte[ScramCredential.HashSize(_mechanism)];
        if (!Convert.TryFromBase64String(message[(proofAt + 3)..], proof, out int written) || written != proof.Length) return ScramStep.Failed;

        byte[] authMessage = Encoding.UTF8.GetBytes(_clientFirstBare + "," + _serverFirst + "," + withoutProof);
        byte[] clientSignature = ScramCredential.Hmac(_mechanism, _credential.StoredKey, authMessage);
        for (int i = 0; i < proof.Length; i++) proof[i] ^= clientSignature[i]; // proof XOR signature = ClientKey
        byte[] storedKey = ScramCredential.Hash(_mechanism, proof);
        if (!CryptographicOperations.FixedTimeEquals(storedKey, _credential.StoredKey) || (!IsPeerName(_user!) && _users.Find(_user!) is null))
            return ScramStep.Failed;

        User = _user;
        response = Encoding.UTF8.GetBytes("v=" + Convert.ToBase64String(ScramCredential.Hmac(_mechanism, _credential.ServerKey, authMessage)));
        return ScramStep.Succeeded;
    }

    private static bool SameNonce(string sent, string expected) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(sent), Encoding.UTF8.GetBytes(expected));

    /// <summary>A credential no password matches, with a salt stable per name (an unknown name looks the same each time).</summary>
    private ScramCredential Decoy(string user)
    {
        byte[] salt = SHA256.HashData(Encoding.UTF8.GetBytes("ferry-decoy:" + user));
        byte[] random = RandomNumberGenerator.GetBytes(ScramCredential.HashSize(_mechanism));
        return new ScramCredential(_mechanism, salt, ScramCredential.DefaultIterations, random, random);
    }

    /// <summary>saslname: "=2C" is a comma, "=3D" an equals sign.</summary>
    private static string Unescape(string name) => name.Replace("=2C", ",", StringComparison.Ordinal).Replace("=3D", "=", StringComparison.Ordinal);
}

public enum ScramStep
{
    Continue,
    Succeeded,
    Failed,
}
