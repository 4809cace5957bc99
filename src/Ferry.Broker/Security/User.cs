namespace Ferry.Broker.Security;

/// <summary>
/// One user: a name, RabbitMQ's tags (<c>administrator</c>: super user on every protocol and the admin API;
/// <c>monitoring</c> and <c>management</c>: read-only admin API) and a SCRAM credential per mechanism, from which
/// PLAIN and HTTP Basic passwords are checked too.
/// </summary>
public sealed record User(string Name, IReadOnlyList<string> Tags, IReadOnlyList<ScramCredential> Credentials)
{
    public const string Administrator = "administrator";
    public const string Monitoring = "monitoring";
    public const string Management = "management";

    public static readonly string[] KnownTags = [Administrator, Monitoring, Management];

    public bool IsAdministrator => Tags.Contains(Administrator, StringComparer.Ordinal);

    /// <summary>May read through the admin API.</summary>
    public bool MayMonitor => IsAdministrator || Tags.Contains(Monitoring, StringComparer.Ordinal) || Tags.Contains(Management, StringComparer.Ordinal);

    public static User Create(string name, string password, IReadOnlyList<string> tags) =>
        new(name, tags, [ScramCredential.Create(ScramMechanism.Sha256, password), ScramCredential.Create(ScramMechanism.Sha512, password)]);

    public ScramCredential? Credential(ScramMechanism mechanism) => Credentials.FirstOrDefault(c => c.Mechanism == mechanism);

    /// <summary>Checks a password (PLAIN, AMQP, HTTP Basic) against the first credential, in constant time.</summary>
    public bool PasswordMatches(string password) => Credentials.Count > 0 && Credentials[0].Matches(password);
}
