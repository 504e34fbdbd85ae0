import { describeDocsPage } from "./docs-page-suite.js";

describeDocsPage("docs/deploy.md");
