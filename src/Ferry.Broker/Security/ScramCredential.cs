using System.Security.Cryptography;
using System.Text;

namespace Ferry.Broker.Security;

/// <summary>SCRAM's hash functions (RFC 5802 with SHA-256, RFC 7677; SHA-512 as Kafka adds it).</summary>
public enum ScramMechanism
{
    Sha256,
    Sha512,
}

/// <summary>
/// What a server keeps of a password (RFC 5802 section 3): the salt, the iteration count, StoredKey = H(ClientKey) and
/// ServerKey, where ClientKey = HMAC(SaltedPassword, "Client Key"), ServerKey = HMAC(SaltedPassword, "Server Key") and
/// SaltedPassword = PBKDF2(password, salt, iterations). The password itself is never kept.
/// </summary>
public sealed record ScramCredential(ScramMechanism Mechanism, byte[] Salt, int Iterations, byte[] StoredKey, byte[] ServerKey)
{
    /// <summary>Kafka's minimum and a sound default for PBKDF2 on every login (a few milliseconds).</summary>
    public const int DefaultIterations = 4096;

    public static ScramCredential Create(ScramMechanism mechanism, string password, int iterations = DefaultIterations)
    {
        byte[] salt = RandomNumberGenerator.GetBytes(32);
        return FromSaltedPassword(mechanism, salt, iterations, SaltedPassword(mechanism, password, salt, iterations));
    }

    /// <summary>Builds the credential from a salted password a client computed (AlterUserScramCredentials sends one).</summary>
    public static ScramCredential FromSaltedPassword(ScramMechanism mechanism, byte[] salt, int iterations, byte[] saltedPassword)
    {
        byte[] clientKey = Hmac(mechanism, saltedPassword, "Client Key"u8);
        return new ScramCredential(mechanism, salt, iterations, Hash(mechanism, clientKey), Hmac(mechanism, saltedPassword, "Server Key"u8));
    }

    public static byte[] SaltedPassword(ScramMechanism mechanism, string password, byte[] salt, int iterations) =>
        Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashName(mechanism), HashSize(mechanism));

    /// <summary>Whether <paramref name="password"/> is the one this credential was made from, compared in constant time.</summary>
    public bool Matches(string password)
    {
        byte[] salted = SaltedPassword(Mechanism, password, Salt, Iterations);
        byte[] storedKey = Hash(Mechanism, Hmac(Mechanism, salted, "Client Key"u8));
        return CryptographicOperations.FixedTimeEquals(storedKey, StoredKey);
    }

    public static HashAlgorithmName HashName(ScramMechanism mechanism) =>
        mechanism == ScramMechanism.Sha256 ? HashAlgorithmName.SHA256 : HashAlgorithmName.SHA512;

    public static int HashSize(ScramMechanism mechanism) => mechanism == ScramMechanism.Sha256 ? 32 : 64;

    public static byte[] Hmac(ScramMechanism mechanism, ReadOnlySpan<byte> key, ReadOnlySpan<byte> data) =>
        mechanism == ScramMechanism.Sha256 ? HMACSHA256.HashData(key, data) : HMACSHA512.HashData(key, data);

    public static byte[] Hash(ScramMechanism mechanism, ReadOnlySpan<byte> data) =>
        mechanism == ScramMechanism.Sha256 ? SHA256.HashData(data) : SHA512.HashData(data);
}
