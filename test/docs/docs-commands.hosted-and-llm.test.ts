import { describeDocsPage } from "./docs-page-suite.js";

describeDocsPage("docs/hosted-and-llm.md");
