import Testing
@testable import IngestCore

struct SpoolBudgetTests {
    @Test func anUploadNeedsItselfAndItsDecodedSBOM() {
        #expect(SpoolBudget.bytes(forUpload: 4) == 7)
        #expect(SpoolBudget.bytes(forUpload: 1 << 20) == (1 << 20) + (3 << 18))
        #expect(SpoolBudget.bytes(forUpload: 0) == 0)
    }

    @Test func reservationsBeyondTheCapacityAreRefusedUntilOneIsGivenBack() {
        let budget = SpoolBudget(capacity: 10)
        let first = budget.reserve(6)
        #expect(first != nil)
        #expect(budget.reserve(5) == nil)
        let second = budget.reserve(4)
        withExtendedLifetime(second) {
            #expect(second != nil && budget.reserved == 10)
            first?.release()
            first?.release()  // once only
            #expect(budget.reserved == 4)
            #expect(budget.reserve(6) != nil)  // dropped at once: given back
            #expect(budget.reserved == 4)
        }
    }

    @Test func aDroppedLeaseGivesItsReservationBack() {
        let budget = SpoolBudget(capacity: 10)
        do {
            let lease = budget.reserve(8)
            withExtendedLifetime(lease) { #expect(lease != nil && budget.reserved == 8) }
        }
        #expect(budget.reserved == 0)
    }
}
