import ArgumentParser
import YuqingCases

struct ReplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reply", abstract: "Draft, sign, approve or return, and publish a case's reply (审定回复).",
        discussion: """
            A unit drafts; its unit head signs; the office approves or returns it with a reason (a
            leader approves for levels I–II); a returned draft is revised as a new draft
            (`reply draft --revises DRAFT`); the approved draft is published with its link.
            Drafts are named by the id `case show` lists.
            """,
        subcommands: [Draft.self, Sign.self, Approve.self, Return.self, Publish.self])

    struct Draft: StepCommand {
        static let configuration = CommandConfiguration(abstract: "Draft the unit's reply.")
        @OptionGroup var options: ReplicaOptions
        @Argument(help: "The case id.") var id: String
        @Argument(help: "The reply's text.") var text: String
        @Option(help: "The returned draft this revises.") var revises: String?
        func action(_ ctx: NodeContext) throws -> CaseAction { .draft(text: text, revises: revises) }
    }

    struct Sign: StepCommand {
        static let configuration = CommandConfiguration(abstract: "The unit head signs a draft (负责人签字).")
        @OptionGroup var options: ReplicaOptions
        @Argument(help: "The case id.") var id: String
        @Argument(help: "The draft's id.") var draft: String
        func action(_ ctx: NodeContext) throws -> CaseAction { .sign(draft: draft) }
    }

    struct Approve: StepCommand {
        static let configuration = CommandConfiguration(abstract: "Approve a signed draft (审定).")
        @OptionGroup var options: ReplicaOptions
        @Argument(help: "The case id.") var id: String
        @Argument(help: "The draft's id.") var draft: String
        @Option var note: String?
        func action(_ ctx: NodeContext) throws -> CaseAction { .approve(draft: draft, note: note) }
    }

    struct Return: StepCommand {
        static let configuration = CommandConfiguration(abstract: "Send a signed draft back with a reason.")
        @OptionGroup var options: ReplicaOptions
        @Argument(help: "The case id.") var id: String
        @Argument(help: "The draft's id.") var draft: String
        @Option(help: "What must change.") var reason: String
        func action(_ ctx: NodeContext) throws -> CaseAction { .returnDraft(draft: draft, reason: reason) }
    }

    struct Publish: StepCommand {
        static let configuration = CommandConfiguration(abstract: "Record the approved reply as published, with its link.")
        @OptionGroup var options: ReplicaOptions
        @Argument(help: "The case id.") var id: String
        @Argument(help: "The draft's id.") var draft: String
        @Option(help: "Where it was published.") var link: String
        func action(_ ctx: NodeContext) throws -> CaseAction { .publish(draft: draft, link: link) }
    }
}
