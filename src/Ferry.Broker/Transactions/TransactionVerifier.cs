using Ferry.Broker.Cluster;
using Ferry.Broker.Topics;

namespace Ferry.Broker.Transactions;

/// <summary>
/// KIP-890 part 1 at the partition leader, the defence against hanging transactions: a transactional batch is appended
/// only into a partition of its producer's open transaction, at its current epoch, as the id's transaction coordinator
/// says. A late batch of an aborted or fenced transaction is refused (INVALID_TXN_STATE, INVALID_PRODUCER_EPOCH)
/// instead of opening a transaction nobody will end, which would hold the partition's last stable offset back forever.
/// </summary>
/// <remarks>
/// <para>The coordinator is the leader of the id's <c>__transaction_state</c> partition (<see cref="InternalTopicOwnership"/>):
/// this node's coordinator is asked in-process; another node's over the <see cref="ITransactionVerificationChannel"/>,
/// which the caller awaits before appending.</para>
/// <para>A positive answer holds for the rest of the transaction in that partition: once a batch of the producer's
/// transaction is in the partition at this epoch, the partition itself remembers the transaction (its open
/// transactions and producer epochs, rebuilt from the log on a new leader), and the marker that ends it forgets it,
/// so the next transaction is asked about again. So the coordinator hears once per (producer id, epoch, partition)
/// and transaction, not once per batch, and the cache can never outlive the transaction it vouches for.</para>
/// <para>Between a positive answer and the append the transaction can end only by the coordinator's abort (the producer
/// ends it only once its batches are answered), and every abort the coordinator starts itself (timeout, a new producer
/// of the id) bumps the epoch: its marker raises the partition's epoch for the producer, so the late batch is refused
/// as a stale epoch instead of opening a new transaction (what Kafka's verification guard is for).</para>
/// </remarks>
public sealed class TransactionVerifier(TransactionCoordinator coordinator, IClusterView cluster, ITransactionVerificationChannel? remote)
{
    /// <summary>
    /// Verifies without waiting where it can: true with the answer (<see cref="TransactionError.None"/>: append), or
    /// false when only another node's coordinator can answer (<see cref="VerifyRemotelyAsync"/>).
    /// </summary>
    public bool TryVerify(string transactionalId, long producerId, short epoch, Partition partition, out TransactionError error)
    {
        error = TransactionError.None;
        if (partition.HasOpenTransaction(producerId, epoch)) return true;
        int node = coordinator.CoordinatorNodeFor(transactionalId);
        if (node == cluster.LocalNodeId || remote is null)
        {
            error = coordinator.VerifyPartition(transactionalId, producerId, epoch, partition.Topic, partition.Index);
            return true;
        }
        if (node < 0)
        {
            error = TransactionError.CoordinatorNotAvailable; // the state partition is between leaders
            return true;
        }
        return false;
    }

    /// <summary>Asks the coordinator on another node about <paramref name="partitions"/> (those <see cref="TryVerify"/> could not answer).</summary>
    public async Task<IReadOnlyList<(TransactionPartition Partition, TransactionError Error)>> VerifyRemotelyAsync(string transactionalId, long producerId,
        short epoch, IReadOnlyList<TransactionPartition> partitions, CancellationToken cancellationToken)
    {
        int node = coordinator.CoordinatorNodeFor(transactionalId);
        if (node == cluster.LocalNodeId || remote is null) // leadership came here meanwhile
            return partitions.Select(p => (p, coordinator.VerifyPartition(transactionalId, producerId, epoch, p.Topic, p.Partition))).ToList();
        if (node < 0) return partitions.Select(p => (p, TransactionError.CoordinatorNotAvailable)).ToList();
        return await remote.VerifyAsync(node, transactionalId, producerId, epoch, partitions, cancellationToken).ConfigureAwait(false);
    }
}
