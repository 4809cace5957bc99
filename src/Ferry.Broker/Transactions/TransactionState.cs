namespace Ferry.Broker.Transactions;

/// <summary>
/// Where a transactional id's current transaction is (Kafka's <c>TransactionState</c>): Empty → Ongoing (partitions
/// added) → PrepareCommit or PrepareAbort (the decision, durable) → markers in every partition → CompleteCommit or
/// CompleteAbort, from which the next transaction starts. The byte values are stored in the transaction log.
/// </summary>
public enum TransactionState : byte
{
    Empty = 0,
    Ongoing = 1,
    PrepareCommit = 2,
    PrepareAbort = 3,
    CompleteCommit = 4,
    CompleteAbort = 5,
    Dead = 6,
}

public static class TransactionStates
{
    /// <summary>The state's name as Kafka's admin APIs give it (ListTransactions filters, DescribeTransactions).</summary>
    public static string Name(TransactionState state) => state switch
    {
        TransactionState.Empty => "Empty",
        TransactionState.Ongoing => "Ongoing",
        TransactionState.PrepareCommit => "PrepareCommit",
        TransactionState.PrepareAbort => "PrepareAbort",
        TransactionState.CompleteCommit => "CompleteCommit",
        TransactionState.CompleteAbort => "CompleteAbort",
        _ => "Dead",
    };

    public static bool IsPrepare(TransactionState state) => state is TransactionState.PrepareCommit or TransactionState.PrepareAbort;
}
