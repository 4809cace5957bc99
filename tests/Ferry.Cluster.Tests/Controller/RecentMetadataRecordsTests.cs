using Ferry.Cluster.Controller;

namespace Ferry.Cluster.Tests.Controller;

/// <summary>The voter's ring of recently applied entries that broker-only nodes fetch: exact records while held, else a snapshot.</summary>
public sealed class RecentMetadataRecordsTests
{
    private static MetadataRecord Record(int node) => new() { Type = MetadataRecordType.RegisterNode, NodeId = node };

    [Fact]
    public void TryRead_AfterAHeldIndex_ReturnsTheLaterRecordsInOrder()
    {
        var recent = new RecentMetadataRecords();
        recent.Add(1, Record(1));
        recent.Add(2, null);
        recent.Add(3, Record(3));
        Assert.Equal(0, recent.Floor);
        Assert.True(recent.TryRead(1, 10, out var records, out bool more));
        Assert.False(more);
        Assert.Equal([3L], records.Select(r => r.Index));
        Assert.True(recent.TryRead(0, 1, out records, out more));
        Assert.True(more);
        Assert.Equal([1L], records.Select(r => r.Index));
    }

    [Fact]
    public void TryRead_BeforeTheRing_IsFalseSoTheAskerGetsASnapshot()
    {
        var recent = new RecentMetadataRecords();
        for (int i = 1; i <= RecentMetadataRecords.Capacity + 10; i++) recent.Add(i, Record(i));
        Assert.Equal(10, recent.Floor);
        Assert.False(recent.TryRead(9, 10, out _, out _));
        Assert.True(recent.TryRead(10, 10, out var records, out _));
        Assert.Equal(11, records[0].Index);
    }

    [Fact]
    public void AfterASnapshotOfUnknownIndex_TheFirstEntrySetsTheFloor()
    {
        var recent = new RecentMetadataRecords();
        recent.Add(1, Record(1));
        recent.Clear(-1);
        Assert.False(recent.TryRead(0, 10, out _, out _));
        recent.Add(201, Record(2));
        Assert.Equal(200, recent.Floor);
        Assert.True(recent.TryRead(200, 10, out var records, out _));
        Assert.Single(records);
        Assert.False(recent.TryRead(199, 10, out _, out _));
    }
}
