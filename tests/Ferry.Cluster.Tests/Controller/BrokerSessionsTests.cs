using Ferry.Cluster.Controller;

namespace Ferry.Cluster.Tests.Controller;

/// <summary>The quorum leader's sessions of broker-only nodes: duplicate ids refused, silence expires, a new leader's grace.</summary>
public sealed class BrokerSessionsTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMilliseconds(2000);

    [Fact]
    public void TryRegister_AnotherLiveProcessHoldsTheId_IsRefusedUntilItsSessionRunsOut()
    {
        var sessions = new BrokerSessions(Timeout);
        Guid first = Guid.NewGuid(), second = Guid.NewGuid();
        Assert.True(sessions.TryRegister(4, first, fenced: true, now: 0));
        Assert.True(sessions.Heartbeat(4, first, now: 1000));
        Assert.False(sessions.TryRegister(4, second, fenced: false, now: 1500));
        Assert.False(sessions.Heartbeat(4, second, now: 1600));
        // The first process went silent: once its session ran out, the id is free.
        Assert.True(sessions.TryRegister(4, second, fenced: false, now: 3000));
        // And now the first one is the stranger.
        Assert.False(sessions.Heartbeat(4, first, now: 3100));
    }

    [Fact]
    public void TryRegister_SameProcessAgainOrFencedNode_IsAccepted()
    {
        var sessions = new BrokerSessions(Timeout);
        Guid first = Guid.NewGuid(), second = Guid.NewGuid();
        Assert.True(sessions.TryRegister(4, first, fenced: true, now: 0));
        Assert.True(sessions.TryRegister(4, first, fenced: false, now: 100));
        // The controller fenced the node: whoever registers next takes the id.
        Assert.True(sessions.TryRegister(4, second, fenced: true, now: 200));
    }

    [Fact]
    public void Expired_AfterTheSessionTimeoutWithoutHeartbeats()
    {
        var sessions = new BrokerSessions(Timeout);
        var incarnation = Guid.NewGuid();
        sessions.TryRegister(4, incarnation, fenced: true, now: 0);
        sessions.Heartbeat(4, incarnation, now: 1000);
        Assert.False(sessions.Expired(4, now: 2999));
        Assert.True(sessions.Expired(4, now: 3000));
        Assert.Equal(1500, sessions.SilentFor(4, now: 2500));
    }

    [Fact]
    public void Restart_NewLeaderGivesEveryNodeAFullTimeoutAndAdoptsTheFirstHeartbeat()
    {
        var sessions = new BrokerSessions(Timeout);
        Guid old = Guid.NewGuid(), live = Guid.NewGuid();
        sessions.TryRegister(4, old, fenced: true, now: 0);
        sessions.Restart(now: 50_000, [4, 5]);
        Assert.False(sessions.Expired(4, now: 51_999));
        Assert.False(sessions.Expired(5, now: 51_999));
        Assert.True(sessions.Expired(5, now: 52_000));
        // The incarnation is unknown after the election: the first heartbeat establishes it, another one is then refused.
        Assert.True(sessions.Heartbeat(4, live, now: 50_400));
        Assert.False(sessions.Heartbeat(4, old, now: 50_500));
    }

    [Fact]
    public void SilentFor_UnknownNode_StartsItsSessionNow()
    {
        var sessions = new BrokerSessions(Timeout);
        Assert.Equal(0, sessions.SilentFor(7, now: 10_000));
        Assert.False(sessions.Expired(7, now: 11_999));
        Assert.True(sessions.Expired(7, now: 12_000));
        sessions.End(7);
        Assert.Equal(0, sessions.SilentFor(7, now: 20_000));
    }
}
