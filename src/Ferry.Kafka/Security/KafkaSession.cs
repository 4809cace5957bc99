namespace Ferry.Kafka.Security;

/// <summary>
/// Who is on one Kafka connection: the listener it came in on, whether it has authenticated, and as whom. The
/// SASL handlers change it; they run in request order on the connection's read loop, so no lock is needed.
/// </summary>
public sealed class KafkaSession
{
    public const string Anonymous = "User:ANONYMOUS";

    public KafkaSession(KafkaListenerFeature listener, string? certificatePrincipal, string host = "")
    {
        Listener = listener;
        Host = host;
        Authenticated = !listener.RequiresSasl;
        // Kafka's default principal builder: the TLS client's distinguished name on SSL, ANONYMOUS on PLAINTEXT.
        Principal = certificatePrincipal is not null && !listener.RequiresSasl ? "User:" + certificatePrincipal : Anonymous;
    }

    public KafkaListenerFeature Listener { get; }

    /// <summary>The client's IP address as ACLs name hosts (<c>127.0.0.1</c>, <c>::1</c>): computed once per connection.</summary>
    public string Host { get; }

    /// <summary>True once SASL succeeded, or from the start on a listener without SASL.</summary>
    public bool Authenticated { get; private set; }

    /// <summary>The Kafka principal, <c>User:NAME</c>.</summary>
    public string Principal { get; private set; }

    /// <summary>
    /// True once the connection authenticated as the cluster's peer principal: the only sessions (besides super users
    /// when authorization is on) that may use the inter-broker APIs on a listener that authenticates.
    /// </summary>
    public bool IsPeer { get; private set; }

    /// <summary>The mechanism SaslHandshake chose; null before it.</summary>
    public string? Mechanism { get; set; }

    /// <summary>A multi-step exchange in progress (SCRAM); null otherwise.</summary>
    public object? Exchange { get; set; }

    /// <summary>Authentication failed: the connection closes once the answer is written.</summary>
    public bool Failed { get; private set; }

    public void Fail()
    {
        Failed = true;
        Exchange = null;
    }

    public void Authenticate(string user, bool peer = false)
    {
        Principal = "User:" + user;
        IsPeer = peer;
        Authenticated = true;
        Exchange = null;
    }
}
