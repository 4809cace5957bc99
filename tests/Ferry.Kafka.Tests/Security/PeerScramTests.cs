using Ferry.Broker.Security;
using Ferry.Peers;

namespace Ferry.Kafka.Tests.Security;

/// <summary>
/// The peer links' SCRAM-SHA-512 in both directions: a node's <see cref="ScramClient"/> against a node's
/// <see cref="ScramServer"/>, each holding a <see cref="PeerPrincipal"/> derived from its own cluster secret.
/// </summary>
public sealed class PeerScramTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "ferry-peer-scram-" + Guid.NewGuid().ToString("N"));
    private readonly FileUserStore _users;

    public PeerScramTests()
    {
        _users = new FileUserStore(_data);
    }

    public void Dispose()
    {
        if (Directory.Exists(_data)) Directory.Delete(_data, recursive: true);
    }

    /// <summary>Runs the exchange; the server's last step and whether the client accepted the server's signature.</summary>
    private static (ScramStep Server, bool ClientAcceptsServer) Exchange(PeerPrincipal client, ScramServer server)
    {
        var scram = new ScramClient(PeerPrincipal.Mechanism, PeerPrincipal.UserName, System.Text.Encoding.ASCII.GetString(client.Password));
        Assert.Equal(ScramStep.Continue, server.Step(scram.ClientFirst(), out byte[] serverFirst));
        var clientFinal = scram.ClientFinal(serverFirst);
        Assert.NotNull(clientFinal);
        var step = server.Step(clientFinal, out byte[] serverFinal);
        return (step, step == ScramStep.Succeeded && scram.ServerFinalIsValid(serverFinal));
    }

    [Fact]
    public void SameSecret_BothEndsAuthenticate_AsThePeer()
    {
        var server = new ScramServer(PeerPrincipal.Mechanism, _users, PeerPrincipal.FromSecret("s3cret"));
        var (step, accepted) = Exchange(PeerPrincipal.FromSecret("s3cret"), server);
        Assert.Equal(ScramStep.Succeeded, step);
        Assert.True(accepted);
        Assert.True(server.IsPeer);
        Assert.Equal(PeerPrincipal.UserName, server.User);
    }

    [Fact]
    public void OtherSecret_IsRefused()
    {
        var server = new ScramServer(PeerPrincipal.Mechanism, _users, PeerPrincipal.FromSecret("s3cret"));
        Assert.Equal(ScramStep.Failed, Exchange(PeerPrincipal.FromSecret("another"), server).Server);
        Assert.False(server.IsPeer);
    }

    [Fact]
    public void NodeOutsideACluster_DoesNotKnowThePeer()
    {
        // A single node (no secret) or SCRAM-SHA-256: the reserved name gets a decoy credential nothing matches.
        Assert.Equal(ScramStep.Failed, Exchange(PeerPrincipal.FromSecret("s3cret"), new ScramServer(PeerPrincipal.Mechanism, _users)).Server);
    }

    [Fact]
    public void ServerWithAnotherSecret_FailsTheClientsSignatureCheck()
    {
        // The server side of a node holding another secret, answering as if the proof were good: what a node
        // impersonating a peer could at best send. Its signature is made with other keys, which the client sees.
        var impostor = PeerPrincipal.FromSecret("another");
        var scram = new ScramClient(PeerPrincipal.Mechanism, PeerPrincipal.UserName, System.Text.Encoding.ASCII.GetString(PeerPrincipal.FromSecret("s3cret").Password));
        var server = new ScramServer(PeerPrincipal.Mechanism, _users, impostor);
        server.Step(scram.ClientFirst(), out byte[] serverFirst);
        Assert.NotNull(scram.ClientFinal(serverFirst));
        string forged = "v=" + Convert.ToBase64String(new byte[64]);
        Assert.False(scram.ServerFinalIsValid(System.Text.Encoding.UTF8.GetBytes(forged)));
    }

    [Fact]
    public void ServerFirst_WithANonceNotExtendingTheClients_IsNotAnswered()
    {
        var scram = new ScramClient(PeerPrincipal.Mechanism, PeerPrincipal.UserName, "p");
        scram.ClientFirst();
        Assert.Null(scram.ClientFinal("r=someoneelse,s=c2FsdA==,i=4096"u8));
    }

    [Fact]
    public void ReservedNames_AreNotStoredAsUsers()
    {
        Assert.Throws<ArgumentException>(() => _users.Put(User.Create(PeerPrincipal.UserName, "p", [])));
        Assert.Null(_users.Find(PeerPrincipal.UserName));
        Assert.DoesNotContain(_users.All, u => u.Name == PeerPrincipal.UserName);
    }
}
