import Testing
@testable import IngestCore

struct SQLScriptTests {
    @Test func splitsOnSemicolonsOutsideQuotesAndComments() {
        let script = """
            -- a comment; with a semicolon
            CREATE TABLE a (x text DEFAULT 'a;b''c');
            /* block; /* nested; */ still */ INSERT INTO "we;ird" VALUES ($1);
            CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;
            DO $$ BEGIN PERFORM 1; END $$;
            -- trailing comment only;
            """
        let statements = SQLScript.statements(script)
        #expect(statements.count == 4)
        #expect(statements[0] == "-- a comment; with a semicolon\nCREATE TABLE a (x text DEFAULT 'a;b''c')")
        #expect(statements[1].hasSuffix(#"INSERT INTO "we;ird" VALUES ($1)"#))
        #expect(statements[2] == "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql")
        #expect(statements[3] == "DO $$ BEGIN PERFORM 1; END $$")
    }

    @Test func emptyScriptHasNoStatements() {
        #expect(SQLScript.statements("  -- nothing\n/* here */ ;;\n").isEmpty)
    }
}
