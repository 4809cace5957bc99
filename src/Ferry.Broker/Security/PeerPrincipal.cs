using System.Security.Cryptography;
using System.Text;

namespace Ferry.Broker.Security;

/// <summary>
/// The reserved principal the nodes of one cluster authenticate as to each other's Kafka listeners (replica fetches,
/// transaction markers). It is not a user: nothing stores it, lists it or deletes it, and only Kafka's SCRAM-SHA-512
/// knows it. Every node derives the same password, and from it the same SCRAM keys, from the cluster secret, so
/// nothing of it is written to disk, and a node started without the secret cannot authenticate as a peer.
/// </summary>
public sealed class PeerPrincipal
{
    /// <summary>The SASL user name; the leading "__" keeps it out of the names users may take (<see cref="IsReserved"/>).</summary>
    public const string UserName = "__ferry_peer";

    public const string KafkaPrincipal = "User:" + UserName;

    public const ScramMechanism Mechanism = ScramMechanism.Sha512;

    private PeerPrincipal(byte[] password, ScramCredential credential)
    {
        Password = password;
        Credential = credential;
    }

    /// <summary>What a node proves on its peer links; never logged, never stored.</summary>
    public byte[] Password { get; }

    /// <summary>What a node checks the proof against: the same salt and keys on every node of the cluster.</summary>
    public ScramCredential Credential { get; }

    /// <summary>Derives both from the secret with HMAC under distinct labels, so neither reveals the secret or the other.</summary>
    public static PeerPrincipal FromSecret(string secret)
    {
        byte[] key = Encoding.UTF8.GetBytes(secret);
        // Base64 text: SCRAM's Hi() takes the password as a string (SASLprep), and this one is plain ASCII.
        byte[] password = Encoding.ASCII.GetBytes(Convert.ToBase64String(HMACSHA512.HashData(key, "ferry peer kafka password"u8)));
        byte[] salt = HMACSHA256.HashData(key, "ferry peer kafka salt"u8);
        byte[] salted = ScramCredential.SaltedPassword(Mechanism, Encoding.ASCII.GetString(password), salt, ScramCredential.DefaultIterations);
        return new PeerPrincipal(password, ScramCredential.FromSaltedPassword(Mechanism, salt, ScramCredential.DefaultIterations, salted));
    }

    /// <summary>Names no user may take, so that no stored user is ever confused with the peer principal.</summary>
    public static bool IsReserved(string name) => name.StartsWith("__", StringComparison.Ordinal);
}
